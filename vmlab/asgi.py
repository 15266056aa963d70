"""The ASGI application: Django's pages over HTTP, and the terminal's WebSocket (connect.routing).

The WebSocket is refused unless its Origin is one of ALLOWED_HOSTS and the very host and port it was sent to
(no other site may open a terminal with a visitor's cookie), and it carries the session cookie of a logged-in
user; the consumer checks the VM itself.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vmlab.settings")
django_application = get_asgi_application()  # sets Django up before the imports below load models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from connect.origin import SameOriginValidator  # noqa: E402
from connect.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AllowedHostsOriginValidator(
            SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
