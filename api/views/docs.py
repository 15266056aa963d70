"""The OpenAPI description and its two documentation pages, served from drf-spectacular-sidecar's static files.

The pages are the portal's: signed-in, approved users only (anonymous visitors go to the login page). Swagger UI runs
with the portal's policy unchanged: its start-up script is a separate request (SpectacularSwaggerSplitView) and its
page has no inline style (templates/drf_spectacular/swagger_ui.html). Redoc writes <style> elements at run time
(styled-components), which no nonce can cover, so its page alone allows inline styles, as the terminal page does for
xterm.js; scripts stay 'self' there too (its search, which needs a blob: worker, is off: templates/drf_spectacular/).
"""

from django.conf import settings
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from vmlab.core.middleware import policy_with_inline_styles


@method_decorator(require_safe, name="dispatch")
class SchemaView(SpectacularAPIView):
    pass


@method_decorator(require_safe, name="dispatch")
class SwaggerView(SpectacularSwaggerSplitView):
    url_name = "api:schema"


@method_decorator(require_safe, name="dispatch")
class RedocView(SpectacularRedocView):
    url_name = "api:schema"

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response.headers["Content-Security-Policy"] = policy_with_inline_styles(settings.CONTENT_SECURITY_POLICY)
        return response
