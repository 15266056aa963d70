import math
from collections.abc import Callable

from django.conf import settings
from django.template.response import TemplateResponse
from django.urls import Resolver404, resolve


def request_body_limit(limit: Callable[[], int]):
    """Let a view accept request bodies of up to limit() bytes from logged-in users, instead of MAX_REQUEST_BODY.

    `limit` is called for each request, so that it follows the settings. Put this decorator outermost.
    """

    def decorator(view):
        view.request_body_limit = limit
        return view

    return decorator


class RequestBodyLimitMiddleware:
    """Refuse a request whose body is larger than MAX_REQUEST_BODY before anything reads it.

    Django's own DATA_UPLOAD_MAX_MEMORY_SIZE leaves file uploads alone, so without this a huge
    upload would be received and written to a temporary file before a form could say "too large".
    A view with @request_body_limit is judged by its own limit in process_view instead: that runs once
    the user is known and before CsrfViewMiddleware.process_view reads the body, as this middleware
    is listed before it.
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
        # Visitors who are not logged in could not use a larger body: they get the usual limit.
        limit = own_limit() if request.user.is_authenticated else min(own_limit(), settings.MAX_REQUEST_BODY)
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


def _too_large(request, limit: int) -> TemplateResponse:
    # In MiB, rounded down to a tenth: 3, 0.5; an upload limit of 100 MiB + 64 KiB of form overhead says 100.
    context = {"limit_mib": f"{math.floor(limit / 2**20 * 10) / 10:g}"}
    return TemplateResponse(request, "413.html", context, status=413).render()


class ContentSecurityPolicyMiddleware:
    """Send settings.CONTENT_SECURITY_POLICY on every response that does not set its own policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
