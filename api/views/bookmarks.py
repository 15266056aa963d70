"""/api/v1/bookmarks/ and /api/v1/tags/: the caller's own bookmarks (Bookmark.objects.visible_to), changed through
bookmarks.services."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from access import rights
from api.filters import BookmarkFilter
from api.permissions import DEFAULT, holding
from api.serializers import BookmarkSerializer, TagSerializer
from api.views.common import ApiViewSet
from api.views.machines import validated
from bookmarks import services
from bookmarks.models import Bookmark

KEEPERS = [*DEFAULT, holding(rights.KEEP_BOOKMARKS)]


def bookmark_values(data: dict, current: Bookmark | None = None) -> dict:
    """The service's arguments from validated data; fields a PATCH leaves out keep `current`'s values."""
    values = {
        "name": data.get("name", current.name if current else ""),
        "link": data.get("link", current.link if current else ""),
        "description": data.get("description", current.description if current else ""),
    }
    values["tags"] = " ".join(data["tags"]) if "tags" in data else (current.tags if current else "")
    return values


@extend_schema_view(
    list=extend_schema(summary="Your bookmarks"),
    retrieve=extend_schema(summary="One of your bookmarks"),
)
class BookmarkViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    permission_classes = KEEPERS
    serializer_class = BookmarkSerializer
    filterset_class = BookmarkFilter

    def get_queryset(self):
        return Bookmark.objects.visible_to(self.request.user)

    @extend_schema(summary="Add a bookmark", responses={201: BookmarkSerializer})
    def create(self, request):
        data = validated(BookmarkSerializer, request.data)
        bookmark = services.bookmark_create(owner=request.user, context=self.audit_context(), **bookmark_values(data))
        return Response(BookmarkSerializer(bookmark).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Change a bookmark")
    def update(self, request, pk=None):
        return self._update(request, partial=False)

    @extend_schema(summary="Change some fields of a bookmark")
    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def _update(self, request, *, partial: bool) -> Response:
        bookmark = self.object_from(Bookmark.objects.visible_to(request.user))
        data = validated(BookmarkSerializer, request.data, partial=partial)
        services.bookmark_update(
            bookmark=bookmark, actor=request.user, context=self.audit_context(), **bookmark_values(data, bookmark)
        )
        return Response(BookmarkSerializer(bookmark).data)

    @extend_schema(summary="Delete a bookmark", responses={204: None})
    def destroy(self, request, pk=None):
        bookmark = self.object_from(Bookmark.objects.visible_to(request.user))
        services.bookmark_delete(bookmark=bookmark, actor=request.user, context=self.audit_context())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TagViewSet(ApiViewSet):
    permission_classes = KEEPERS
    serializer_class = TagSerializer

    def get_queryset(self):
        return Bookmark.objects.visible_to(self.request.user)

    @extend_schema(summary="Your tags, each with its number of bookmarks", responses=TagSerializer(many=True))
    def list(self, request):
        _total, counts = self.get_queryset().tag_counts()
        page = self.paginate_queryset([{"name": name, "count": count} for name, count in counts])
        return self.get_paginated_response(TagSerializer(page, many=True).data)
