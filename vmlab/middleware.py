from django.conf import settings
from django.template.response import TemplateResponse


class RequestBodyLimitMiddleware:
    """Refuse a request whose body is larger than MAX_REQUEST_BODY before anything reads it.

    Django's own DATA_UPLOAD_MAX_MEMORY_SIZE leaves file uploads alone, so without this a huge
    upload would be received and written to a temporary file before a form could say "too large".
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_REQUEST_BODY:
            context = {"limit_mib": settings.MAX_REQUEST_BODY // (1024 * 1024)}
            return TemplateResponse(request, "413.html", context, status=413).render()
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Send settings.CONTENT_SECURITY_POLICY on every response that does not set its own policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
