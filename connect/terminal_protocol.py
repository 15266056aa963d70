"""The terminal WebSocket's protocol, apart from the consumer (connect.consumers) that speaks it.

Binary frames carry the terminal's bytes both ways; text frames carry JSON control messages.
Browser to server: {"type": "resize", "cols", "rows"}, {"type": "trust", "fingerprint"}, {"type": "ack", "id"}.
Server to browser: {"type": "status", "message"}, {"type": "host_key", "fingerprint", "algorithm", "message"},
{"type": "connected"}, {"type": "mark", "id"}, {"type": "error", "kind", "message"},
{"type": "closed", "message", "exit_status"?}.

Output flow control, as xterm.js recommends, with proof: after every MARK_EVERY bytes of output the server sends a
mark, an unguessable id, right after the output. The browser echoes it ("ack") once it has drawn the output before
it, which it can only do after reading that output from the socket. Each mark stands for all the output sent before
it; only the oldest mark not yet echoed counts, so an unknown, repeated or out-of-order id changes nothing. While
more than a limit of output is not covered by an echoed mark, the server stops reading the shell's output
(OutputWindow): the SSH window fills and the program on the VM waits, instead of the server's memory growing.
"""

import json
import secrets
from collections import deque
from urllib.parse import parse_qs

COLUMNS = (10, 500, 80)  # lowest, highest, default
ROWS = (2, 200, 24)
MARK_EVERY = 64 * 1024  # output bytes between two marks


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
    """The output sent to the browser that no echoed mark covers yet; open while it is at most `limit` bytes."""

    def __init__(self, limit: int, mark_every: int = MARK_EVERY):
        if not 0 < mark_every <= limit:
            # The output after the last mark is never covered: more than `limit` of it would shut the window for good.
            raise ValueError("marks must come at most `limit` bytes apart")
        self.limit = limit
        self.mark_every = mark_every
        self.sent_bytes = 0
        self.shown_bytes = 0  # the output before the last echoed mark
        self._marks: deque[tuple[str, int]] = deque()  # not yet echoed, oldest first: (id, output bytes before it)

    @property
    def unacknowledged(self) -> int:
        return self.sent_bytes - self.shown_bytes

    @property
    def is_open(self) -> bool:
        return self.unacknowledged <= self.limit

    def sent(self, size: int) -> str | None:
        """Count `size` more bytes of output sent; returns the id of a mark to send right after them, if one is due."""
        self.sent_bytes += size
        last_mark = self._marks[-1][1] if self._marks else self.shown_bytes
        if self.sent_bytes - last_mark < self.mark_every:
            return None
        mark = secrets.token_urlsafe(16)
        self._marks.append((mark, self.sent_bytes))
        return mark

    def acknowledged(self, mark) -> bool:
        """The browser echoed `mark`. True if it is the oldest mark not yet echoed, whose output then counts as
        shown; anything else is ignored."""
        if not self._marks or mark != self._marks[0][0]:
            return False
        _mark, self.shown_bytes = self._marks.popleft()
        return True
