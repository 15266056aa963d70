"""The terminal's WebSocket is opened by the portal's own pages only.

Channels' AllowedHostsOriginValidator compares host names alone, so another service on the same host name but
another port or scheme (cookies are not kept apart by either) could open a terminal with a visitor's session.
This also requires the Origin to be the scheme, host and port the request was sent to, as Django's CSRF check
does for forms, unless the Origin is listed in CSRF_TRUSTED_ORIGINS.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings


def same_origin(scope) -> bool:
    headers = {name.decode("latin1").lower(): value.decode("latin1") for name, value in scope.get("headers", [])}
    origin, host = headers.get("origin", ""), headers.get("host", "")
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    parts = urlsplit(origin)
    return bool(host) and parts.netloc.lower() == host.lower() and parts.scheme == _page_scheme(scope, headers)


def _page_scheme(scope, headers: dict[str, str]) -> str:
    """http or https, as the page that opens the socket has it; behind a TLS proxy by SECURE_PROXY_SSL_HEADER."""
    if scope.get("scheme") == "wss":
        return "https"
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        header = meta_name.removeprefix("HTTP_").replace("_", "-").lower()
        if headers.get(header, "").split(",")[0].strip() == secure_value:
            return "https"
    return "http"


class SameOriginValidator:
    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if same_origin(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
