"""WebSocket routes, served by vmlab.asgi behind its Origin check and session authentication."""

from django.urls import path

from connect.consumers import TerminalConsumer

websocket_urlpatterns = [
    path("ws/machines/<int:pk>/terminal/", TerminalConsumer.as_asgi(), name="terminal_socket"),
]
