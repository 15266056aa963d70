"""The terminal's WebSocket is opened by the portal's own pages only.

Channels' AllowedHostsOriginValidator compares host names alone, so another service on the same host name but
another port (cookies are not kept apart by port) could open a terminal with a visitor's session. This also
requires the Origin's host and port to be the ones the request was sent to, as Django's CSRF check does for
forms, unless the Origin is listed in CSRF_TRUSTED_ORIGINS.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings


def same_origin(scope) -> bool:
    headers = {name: value.decode("latin1") for name, value in scope.get("headers", [])}
    origin, host = headers.get(b"origin", ""), headers.get(b"host", "")
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    return bool(host) and urlsplit(origin).netloc.lower() == host.lower()


class SameOriginValidator:
    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if same_origin(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
