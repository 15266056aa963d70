"""linkding's REST API for bookmarks (its docs/api.md), so that its browser extension and mobile apps work with
VM Lab: /api/bookmarks/ (list with `q`, `limit`, `offset`; create; retrieve; update; delete; `check/?url=`),
/api/tags/ and /api/user/profile/, with `Authorization: Token <token>` (a VM Lab personal access token).

What VM Lab has not, it answers as linkding does when a feature is off: no archive (`is_archived`, `unread`, `shared`
are always false, and /api/bookmarks/archived/ is empty), no notes (accepted, not kept), no scraped metadata: the
server never fetches a bookmark's page (PRODUCT.md §5), so `check/` returns only what is known here. Tags are words
on the bookmark (bookmarks.links.normalize_tags); each tag's id is derived from its name (tag_id), so it is the same
on every call and for every user, and needs no table.
"""

import hashlib

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from access import rights
from api.authentication import LinkdingTokenAuthentication, SessionAuthentication
from api.pagination import LinkdingPagination
from api.permissions import DEFAULT, holding
from api.views.common import ApiViewSet
from api.views.machines import validated
from bookmarks import services
from bookmarks.links import LINK_MAX_LENGTH
from bookmarks.models import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, TAGS_MAX_LENGTH, Bookmark
from vmlab.core.search import QUERY_MAX_LENGTH

AUTHENTICATION = [LinkdingTokenAuthentication, SessionAuthentication]
PERMISSIONS = [*DEFAULT, holding(rights.KEEP_BOOKMARKS)]


def tag_id(name: str) -> int:
    """A tag's id: from 1 to 2**31 - 1, from the SHA-256 of its name, the same wherever and whenever asked."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") % (2**31 - 1) + 1


class LinkdingBookmarkSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.CharField(max_length=LINK_MAX_LENGTH, source="link")
    title = serializers.CharField(max_length=NAME_MAX_LENGTH, required=False, allow_blank=True, source="name")
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=DESCRIPTION_MAX_LENGTH, default="")
    web_archive_snapshot_url = serializers.CharField(read_only=True, allow_null=True, default=None)
    favicon_url = serializers.CharField(read_only=True, allow_null=True, default=None)
    preview_image_url = serializers.CharField(read_only=True, allow_null=True, default=None)
    is_archived = serializers.BooleanField(required=False, default=False)
    unread = serializers.BooleanField(required=False, default=False)
    shared = serializers.BooleanField(required=False, default=False)
    tag_names = serializers.ListField(
        child=serializers.CharField(max_length=TAGS_MAX_LENGTH), required=False, max_length=100
    )
    date_added = serializers.DateTimeField(read_only=True, source="created_at")
    date_modified = serializers.DateTimeField(read_only=True, source="updated_at")
    website_title = serializers.CharField(read_only=True, allow_null=True, default=None)
    website_description = serializers.CharField(read_only=True, allow_null=True, default=None)

    def to_representation(self, bookmark):
        return {
            "id": bookmark.pk,
            "url": bookmark.link,
            "title": bookmark.name,
            "description": bookmark.description,
            "notes": "",
            "web_archive_snapshot_url": None,
            "favicon_url": None,
            "preview_image_url": None,
            "is_archived": False,
            "unread": False,
            "shared": False,
            "tag_names": bookmark.tag_list,
            "date_added": serializers.DateTimeField().to_representation(bookmark.created_at),
            "date_modified": serializers.DateTimeField().to_representation(bookmark.updated_at),
            "website_title": None,
            "website_description": None,
        }


def _values(data: dict, current: Bookmark | None) -> dict:
    """The service's arguments: what was sent, else what `current` has (linkding changes only the fields sent)."""
    link = data.get("link", current.link if current else "")
    name = data.get("name", current.name if current else "") or link[:NAME_MAX_LENGTH]
    description = data.get("description", current.description if current else "")
    tags = " ".join(data["tag_names"]) if "tag_names" in data else (current.tags if current else "")
    return {"name": name, "link": link, "description": description, "tags": tags}


def _search(queryset, query: str):
    """linkding's search: words, and `#tag` for a tag."""
    words = query[:QUERY_MAX_LENGTH].split()
    for tag in (word[1:] for word in words if word.startswith("#") and len(word) > 1):
        queryset = queryset.tagged(tag)
    plain = " ".join(word for word in words if not word.startswith("#"))
    return queryset.search(plain) if plain else queryset


DATETIME_EXPECTED = _("An ISO 8601 date and time with its offset, e.g. 2025-01-01T00:00:00Z.")


def _since(request, name: str):
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise exceptions.ValidationError({name: [DATETIME_EXPECTED]})
    return moment


LIST_PARAMETERS = [
    OpenApiParameter("q", OpenApiTypes.STR, description="Words, and #tag for a tag."),
    OpenApiParameter("modified_since", OpenApiTypes.DATETIME),
    OpenApiParameter("added_since", OpenApiTypes.DATETIME),
]
CHECK_ANSWER = inline_serializer(
    "LinkdingCheck",
    {
        "bookmark": LinkdingBookmarkSerializer(allow_null=True),
        "metadata": inline_serializer(
            "LinkdingMetadata",
            {
                "url": serializers.CharField(),
                "title": serializers.CharField(allow_null=True),
                "description": serializers.CharField(allow_null=True),
                "preview_image": serializers.CharField(allow_null=True),
            },
        ),
        "auto_tags": serializers.ListField(child=serializers.CharField()),
    },
)


@extend_schema_view(
    list=extend_schema(summary="linkding: list bookmarks", parameters=LIST_PARAMETERS, tags=["linkding"]),
    retrieve=extend_schema(summary="linkding: one bookmark", tags=["linkding"]),
)
class LinkdingBookmarkViewSet(ApiViewSet):
    authentication_classes = AUTHENTICATION
    permission_classes = PERMISSIONS
    pagination_class = LinkdingPagination
    serializer_class = LinkdingBookmarkSerializer
    filter_backends = []

    def get_queryset(self):
        return Bookmark.objects.visible_to(self.request.user)

    def list(self, request):
        bookmarks = self.get_queryset()
        if request.query_params.get("q"):
            bookmarks = _search(bookmarks, request.query_params["q"])
        if modified := _since(request, "modified_since"):
            bookmarks = bookmarks.filter(updated_at__gt=modified)
        if added := _since(request, "added_since"):
            bookmarks = bookmarks.filter(created_at__gt=added)
        page = self.paginate_queryset(bookmarks)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(self.object_from(self.get_queryset())).data)

    @extend_schema(
        summary="linkding: list archived bookmarks (VM Lab has no archive: always empty)",
        responses=LinkdingBookmarkSerializer(many=True),
        tags=["linkding"],
    )
    @action(detail=False, methods=["get"])
    def archived(self, request):
        page = self.paginate_queryset(self.get_queryset().none())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="linkding: add a bookmark (an address already saved updates that bookmark)",
        parameters=[
            OpenApiParameter("disable_scraping", OpenApiTypes.STR, description="Accepted; VM Lab never scrapes."),
            OpenApiParameter("disable_html_snapshot", OpenApiTypes.STR, description="Accepted; no snapshots."),
        ],
        responses={201: LinkdingBookmarkSerializer},
        tags=["linkding"],
    )
    def create(self, request):
        data = validated(LinkdingBookmarkSerializer, request.data)
        existing = self.get_queryset().same_link_as(data["link"]).order_by("pk").first()
        context = self.audit_context()
        if existing is None:
            bookmark = services.bookmark_create(owner=request.user, context=context, **_values(data, None))
        else:
            bookmark = services.bookmark_update(
                bookmark=existing, actor=request.user, context=context, **_values(data, existing)
            )
        return Response(self.get_serializer(bookmark).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="linkding: change a bookmark (fields not sent stay as they are)", tags=["linkding"])
    def update(self, request, pk=None):
        return self._update(request, partial=False)

    @extend_schema(summary="linkding: change some fields of a bookmark", tags=["linkding"])
    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def _update(self, request, *, partial: bool):
        bookmark = self.object_from(self.get_queryset())
        data = validated(LinkdingBookmarkSerializer, request.data, partial=partial)
        services.bookmark_update(
            bookmark=bookmark, actor=request.user, context=self.audit_context(), **_values(data, bookmark)
        )
        return Response(self.get_serializer(bookmark).data)

    @extend_schema(summary="linkding: delete a bookmark", responses={204: None}, tags=["linkding"])
    def destroy(self, request, pk=None):
        bookmark = self.object_from(self.get_queryset())
        services.bookmark_delete(bookmark=bookmark, actor=request.user, context=self.audit_context())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="linkding: is this address saved already? (never fetches it)",
        parameters=[OpenApiParameter("url", OpenApiTypes.STR, required=True)],
        responses=CHECK_ANSWER,
        tags=["linkding"],
    )
    @action(detail=False, methods=["get"])
    def check(self, request):
        url = request.query_params.get("url")
        if not url:
            raise exceptions.ValidationError({"url": [_("Give the address to check: ?url=…")]})
        url = url[:LINK_MAX_LENGTH]
        bookmark = self.get_queryset().same_link_as(url).order_by("pk").first()
        return Response(
            {
                "bookmark": self.get_serializer(bookmark).data if bookmark else None,
                "metadata": {"url": url, "title": None, "description": None, "preview_image": None},
                "auto_tags": [],
            }
        )


class LinkdingTagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    date_added = serializers.DateTimeField(help_text=_("When the first bookmark with this tag was added."))


@extend_schema_view(
    list=extend_schema(summary="linkding: list tags", tags=["linkding"]),
    retrieve=extend_schema(summary="linkding: one tag", tags=["linkding"]),
)
class LinkdingTagViewSet(ApiViewSet):
    authentication_classes = AUTHENTICATION
    permission_classes = PERMISSIONS
    pagination_class = LinkdingPagination
    serializer_class = LinkdingTagSerializer
    filter_backends = []

    def _tags(self) -> list[dict]:
        """Every tag of the caller's bookmarks, by name, with the date of its first bookmark: one query."""
        first_added = {}
        rows = Bookmark.objects.visible_to(self.request.user).order_by().values_list("tags", "created_at")
        for tags, created_at in rows:
            for name in tags.split():
                first_added[name] = min(first_added.get(name, created_at), created_at)
        return [{"id": tag_id(name), "name": name, "date_added": added} for name, added in sorted(first_added.items())]

    def list(self, request):
        page = self.paginate_queryset(self._tags())
        return self.get_paginated_response(LinkdingTagSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        found = [tag for tag in self._tags() if tag["id"] == int(pk)]
        if not found:
            raise exceptions.NotFound()
        return Response(LinkdingTagSerializer(found[0]).data)


PROFILE = inline_serializer(
    "LinkdingProfile",
    {
        "theme": serializers.CharField(),
        "bookmark_date_display": serializers.CharField(),
        "bookmark_link_target": serializers.CharField(),
        "web_archive_integration": serializers.CharField(),
        "tag_search": serializers.CharField(),
        "enable_sharing": serializers.BooleanField(),
        "enable_public_sharing": serializers.BooleanField(),
        "enable_favicons": serializers.BooleanField(),
        "display_url": serializers.BooleanField(),
        "permanent_notes": serializers.BooleanField(),
        "search_preferences": serializers.DictField(),
    },
)


class LinkdingProfileView(APIView):
    """The preferences linkding's clients read: VM Lab's bookmarks are private, so sharing is off."""

    authentication_classes = AUTHENTICATION
    permission_classes = PERMISSIONS

    @extend_schema(summary="linkding: user preferences", responses=PROFILE, tags=["linkding"])
    def get(self, request):
        return Response(
            {
                "theme": "auto",
                "bookmark_date_display": "relative",
                "bookmark_link_target": "_blank",
                "web_archive_integration": "disabled",
                "tag_search": "lax",
                "enable_sharing": False,
                "enable_public_sharing": False,
                "enable_favicons": False,
                "display_url": False,
                "permanent_notes": False,
                "search_preferences": {},
            }
        )
