"""A browser tab with a terminal open, for the tests: the WebSocket through the whole ASGI stack (vmlab.asgi)."""

import json

from channels.testing import WebsocketCommunicator
from django.conf import settings

from connect.routing import terminal_socket_path
from vmlab.asgi import application

HOST = "127.0.0.1"  # in ALLOWED_HOSTS of the development and test settings
ORIGIN = f"http://{HOST}"  # the portal's own pages
WAIT = 5  # seconds; a message that does not come within them fails the test


class Browser:
    """One terminal tab: what it received, split into terminal output and control messages."""

    def __init__(self, path: str, cookie: str = "", origin: str = ORIGIN, headers=(), client=None):
        sent = [(b"host", HOST.encode()), (b"origin", origin.encode()), *headers]
        if cookie:
            sent.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
        self.socket = WebsocketCommunicator(application, path, headers=sent)
        if client:
            self.socket.scope["client"] = client  # the peer address the ASGI server reports
        self.output = b""
        self.controls: list[dict] = []
        self.marks: list[tuple[str, int]] = []  # (id, output bytes received before it) of each flow-control mark
        self.close_code: int | None = None

    async def open(self) -> bool:
        connected, _detail = await self.socket.connect(timeout=WAIT)
        return connected

    async def receive(self) -> None:
        message = await self.socket.receive_output(timeout=WAIT)
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
        elif message.get("bytes") is not None:
            self.output += message["bytes"]
        else:
            self.controls.append(json.loads(message["text"]))
            if self.controls[-1]["type"] == "mark":
                self.marks.append((self.controls[-1]["id"], len(self.output)))

    async def output_shows(self, text: str) -> str:
        while text.encode() not in self.output:
            assert self.close_code is None, f"closed before {text!r} was shown: {self.controls}"
            await self.receive()
        return self.output.decode()

    async def control(self, kind: str) -> dict:
        """The first control message of this type, waiting for it if it has not come yet."""
        while not any(message["type"] == kind for message in self.controls):
            assert self.close_code is None, f"closed without a {kind!r} message: {self.controls}"
            await self.receive()
        return next(message for message in self.controls if message["type"] == kind)

    async def drain(self, quiet: float = 0.3) -> None:
        """Take every message sent so far: until none comes for `quiet` seconds."""
        while not await self.socket.receive_nothing(timeout=quiet):
            await self.receive()

    async def closed(self) -> int:
        while self.close_code is None:
            await self.receive()
        return self.close_code

    async def type(self, text: str) -> None:
        await self.socket.send_to(bytes_data=text.encode())

    async def send(self, **message) -> None:
        await self.socket.send_json_to(message)

    async def leave(self) -> None:
        """The tab goes away (also after the server closed): the consumer ends."""
        await self.socket.disconnect(timeout=WAIT)


def socket_path(vm_or_pk, query: str = "") -> str:
    return terminal_socket_path(getattr(vm_or_pk, "pk", vm_or_pk)) + query
