"""WebSocket routes, served by vmlab.asgi behind its Origin check and session authentication.

The terminal's path is defined here only: the terminal page gets it from terminal_socket_path().
"""

from django.urls import URLResolver, path
from django.urls.resolvers import RegexPattern

from connect.consumers import TerminalConsumer

websocket_urlpatterns = [
    path("ws/machines/<int:pk>/terminal/", TerminalConsumer.as_asgi(), name="terminal_socket"),
]

# Django's own reversing, for routes that are not in ROOT_URLCONF.
_resolver = URLResolver(RegexPattern(r"^/"), websocket_urlpatterns)


def terminal_socket_path(pk: int) -> str:
    """The path of the terminal WebSocket of VM `pk`."""
    return "/" + _resolver.reverse("terminal_socket", pk=pk)
