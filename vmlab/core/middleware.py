from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from vmlab.core.sizes import file_size

# The API's addresses (the api app): its clients read errors as JSON, in the API's one shape (api.errors).
JSON_PATH_PREFIX = "/api/"


def request_body_limit(limit: Callable[[], int], *, granted: Callable[..., bool]):
    """Let a view accept request bodies of up to limit() bytes, instead of MAX_REQUEST_BODY, from the users
    `granted(request, **view_kwargs)` says may use it: e.g. for an upload to a VM, those who may connect to it.

    Both are called for each request, before the body is read: `limit` follows the settings, and `granted` is
    asked with the URL's arguments (the VM's pk). Others get the smaller of limit() and MAX_REQUEST_BODY.
    Put this decorator outermost.
    """

    def decorator(view):
        view.request_body_limit = limit
        view.request_body_limit_granted = granted
        return view

    return decorator


class RequestBodyLimitMiddleware:
    """Refuse a request whose body is larger than MAX_REQUEST_BODY before anything reads it.

    Django's own DATA_UPLOAD_MAX_MEMORY_SIZE leaves file uploads alone, so without this a huge
    upload would be received and written to a temporary file before a form could say "too large".
    A view with @request_body_limit is judged by its own limit in process_view instead: that runs once
    the user and the URL's arguments are known and before CsrfViewMiddleware.process_view reads the body,
    as this middleware is listed before it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _content_length(request) > settings.MAX_REQUEST_BODY and _own_limit(request) is None:
            return _too_large(request, settings.MAX_REQUEST_BODY)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        own_limit = getattr(view_func, "request_body_limit", None)
        if own_limit is None:
            return None
        limit = min(own_limit(), settings.MAX_REQUEST_BODY)
        # Asked only for a body that needs it: visitors, newcomers and users who may not use the view (who would
        # get a 404 from it) never make the server receive more than MAX_REQUEST_BODY.
        if _content_length(request) > limit and view_func.request_body_limit_granted(request, **view_kwargs):
            limit = own_limit()
        if _content_length(request) > limit:
            return _too_large(request, limit)
        return None


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _own_limit(request) -> Callable[[], int] | None:
    """The limit the view at this URL declares, if any; None for URLs that resolve to nothing."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None
    return getattr(match.func, "request_body_limit", None)


def _too_large(request, limit: int) -> HttpResponse:
    # Rounded down to a tenth: 3 MiB, 512 KiB; an upload limit of 100 MiB + 64 KiB of form overhead says 100 MiB.
    if request.path_info.startswith(JSON_PATH_PREFIX):
        message = _("The request body is larger than %(limit)s (MAX_REQUEST_BODY).") % {"limit": file_size(limit)}
        return JsonResponse({"error": {"code": "too_large", "message": message}}, status=413)
    return TemplateResponse(request, "413.html", {"limit": file_size(limit)}, status=413).render()


class ContentSecurityPolicyMiddleware:
    """Send settings.CONTENT_SECURITY_POLICY on every response that does not set its own policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


def policy_with_inline_styles(policy: str) -> str:
    """`policy` with style-src 'self' 'unsafe-inline'; every other directive, script-src included, unchanged.

    For the two pages whose vendored code writes <style> elements and offers no way to give them a nonce: the terminal
    (xterm.js) and the API's Redoc page (styled-components). Inline scripts stay forbidden: a style cannot run code.
    """
    directives = [part.strip() for part in policy.split(";") if part.strip()]
    others = [directive for directive in directives if directive.split()[0] != "style-src"]
    return "; ".join([*others, "style-src 'self' 'unsafe-inline'"])


class PermissionDeniedIsNotFoundMiddleware:
    """A refusal (PermissionDenied) that reaches no view's own handling answers 404 in the portal, like everything a
    user may not reach (PRODUCT.md §3: never 403). Views fetch objects through the queryset verbs, so this is what a
    service's second check answers when another change took the object out of reach in the meantime. The Django
    admin keeps its 403 for staff who lack a permission."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        match = getattr(request, "resolver_match", None)
        if isinstance(exception, PermissionDenied) and not (match and match.namespace == "admin"):
            raise Http404(str(exception)) from exception
        return None
