"""/api/: the v1 API, the OpenAPI description and its documentation pages, and linkding's bookmark API."""

from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, include, path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework.routers import SimpleRouter

from api import linkding
from api.errors import json_error
from api.views import accounts, audit, bookmarks, docs, machines, people

app_name = "api"

v1 = SimpleRouter()
v1.register("vms", machines.VirtualMachineViewSet, basename="vm")
v1.register("bookmarks", bookmarks.BookmarkViewSet, basename="bookmark")
v1.register("tags", bookmarks.TagViewSet, basename="tag")
v1.register("users", people.UserViewSet, basename="user")
v1.register("audit", audit.AuditEventViewSet, basename="audit-event")
v1.register("tokens", accounts.TokenViewSet, basename="token")

compatible = SimpleRouter()
compatible.register("bookmarks", linkding.LinkdingBookmarkViewSet, basename="linkding-bookmark")
compatible.register("tags", linkding.LinkdingTagViewSet, basename="linkding-tag")


@csrf_exempt
def unknown(request, rest=""):
    """Every other address under /api/: a 404 in the API's own shape, not the portal's page."""
    return json_error(404, "not_found", _("No such API endpoint (every API address ends with a slash)."))


def _answering_themselves(patterns: list[URLPattern]) -> list[URLPattern]:
    """The API authenticates each request itself (token or session) and answers 401 in JSON: the portal's
    redirect to the login page and to the waiting page must not get in the way."""
    for pattern in patterns:
        login_not_required(pattern.callback)
    return patterns


def _portal_page(view):
    """DRF marks its views login_not_required; these two are pages of the portal, behind its login middlewares."""
    view.login_required = True
    return view


urlpatterns = [
    path("v1/", include(_answering_themselves([*v1.urls, path("me/", accounts.MeView.as_view(), name="me")]))),
    path("schema/", login_not_required(docs.SchemaView.as_view()), name="schema"),
    # The documentation pages are the portal's: anonymous visitors go to the login page, newcomers to the waiting page.
    path("docs/", _portal_page(docs.SwaggerView.as_view()), name="docs"),
    path("redoc/", _portal_page(docs.RedocView.as_view()), name="redoc"),
    path("", include(_answering_themselves(compatible.urls))),
    path("user/profile/", login_not_required(linkding.LinkdingProfileView.as_view()), name="linkding-profile"),
    # [\s\S]: also paths with a line break in them (%0A), which "." would leave to the portal's HTML 404.
    re_path(r"^(?P<rest>[\s\S]*)$", login_not_required(unknown), name="unknown"),
]
