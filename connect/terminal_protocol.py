"""The terminal WebSocket's protocol, apart from the consumer (connect.consumers) that speaks it.

Binary frames carry the terminal's bytes both ways; text frames carry JSON control messages.
Browser to server: {"type": "resize", "cols", "rows"}, {"type": "trust", "fingerprint"}, {"type": "ack", "bytes"}.
Server to browser: {"type": "status", "message"}, {"type": "host_key", "fingerprint", "algorithm", "message"},
{"type": "connected"}, {"type": "error", "kind", "message"}, {"type": "closed", "message", "exit_status"?}.

Flow control, as xterm.js recommends: the browser acknowledges the output bytes it has written ("ack"), and the
server stops reading the shell's output while too much is unacknowledged (OutputWindow).
"""

import asyncio
import json
from urllib.parse import parse_qs

COLUMNS = (10, 500, 80)  # lowest, highest, default
ROWS = (2, 200, 24)


def bounded(value, limits: tuple[int, int, int]) -> int:
    """`value` as a number of columns or rows within the limits; the default if it is not a finite number."""
    lowest, highest, default = limits
    try:
        return min(max(int(value), lowest), highest)
    except (TypeError, ValueError, OverflowError):  # OverflowError: JSON reads 1e999 as infinity
        return default


def terminal_size(query_string: bytes) -> tuple[int, int]:
    query = parse_qs(query_string.decode("latin1"))
    return bounded(query.get("cols", [""])[0], COLUMNS), bounded(query.get("rows", [""])[0], ROWS)


def _no_constants(name: str):
    raise ValueError(f"{name} is not a number the terminal takes")


def parse_control(text: str) -> dict:
    """A control message as a dict with a "type"; {} for anything else (not JSON, NaN or Infinity, no object)."""
    try:
        message = json.loads(text, parse_constant=_no_constants)
    except ValueError:  # json.JSONDecodeError is one
        return {}
    return message if isinstance(message, dict) and isinstance(message.get("type"), str) else {}


class OutputWindow:
    """Output bytes sent to the browser that it has not yet said it wrote; open while they are at most `limit`."""

    def __init__(self, limit: int):
        self.limit = limit
        self.unacknowledged = 0
        self._open = asyncio.Event()
        self._open.set()

    def sent(self, size: int) -> None:
        self.unacknowledged += size
        if self.unacknowledged > self.limit:
            self._open.clear()

    def acknowledged(self, size) -> None:
        """The browser wrote `size` more bytes. Anything but a count of bytes sent and not yet acknowledged is
        ignored: an acknowledgement cannot open the window for output that was never sent."""
        if type(size) is not int or not 0 < size <= self.unacknowledged:
            return
        self.unacknowledged -= size
        if self.unacknowledged <= self.limit:
            self._open.set()

    async def wait_open(self) -> None:
        await self._open.wait()
