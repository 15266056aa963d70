"""The terminal's shell on the VM and its flow control, for the consumer (connect.consumers) that relays it.

The consumer drives the SSH channel through Shell, so that what the server holds of a session's output stays bounded
however fast the shell writes and whatever the browser does: at most UNACKED_OUTPUT_LIMIT + OUTPUT_WINDOW sent or
queued for the browser, and OUTPUT_WINDOW in the channel (the marks the browser echoes are described in
connect.terminal_protocol). The other way, the session ends once more than INPUT_BUFFER_LIMIT of typed input waits
for the VM to read it.
"""

import asyncio

import asyncssh

from connect.terminal_protocol import OutputWindow

UNACKED_OUTPUT_LIMIT = 1024 * 1024  # output bytes the browser may have left to show before the shell's output waits
OUTPUT_WINDOW = 256 * 1024  # the SSH channel's receive window: the output the VM may send ahead of the browser
OUTPUT_AFTER_EXIT = 5.0  # seconds without output, once the shell has ended, before the session ends anyway
INPUT_BUFFER_LIMIT = 1024 * 1024  # input bytes waiting for the VM to read them before the session is ended


class Shell(asyncssh.SSHClientSession):
    """The shell's SSH channel, read only as fast as the browser shows its output.

    The output is queued for the consumer in `frames` as it arrives: bytes of output, the id of a mark to send right
    after them, EXITED once the shell has ended and CLOSED once the channel has. While more than the window's limit
    is not shown, the channel stops reading: asyncssh keeps what arrives, and sends no window adjust, so it holds at
    most the SSH window and the program on the VM waits.
    """

    EXITED = object()
    CLOSED = object()

    @classmethod
    async def start(cls, connection: asyncssh.SSHClientConnection, cols: int, rows: int) -> "Shell":
        """A shell in a pseudo-terminal of `cols` x `rows` on the logged-in `connection`."""
        _channel, shell = await connection.create_session(
            lambda: cls(OutputWindow(UNACKED_OUTPUT_LIMIT)),
            term_type="xterm-256color",
            term_size=(cols, rows),
            encoding=None,
            window=OUTPUT_WINDOW,
        )
        return shell

    def __init__(self, window: OutputWindow):
        self.window = window
        self.channel: asyncssh.SSHClientChannel | None = None
        self.frames: asyncio.Queue = asyncio.Queue()
        self.exited = False
        self.exit_status: int | None = None
        self.exit_signal: str | None = None
        self.error: Exception | None = None  # why the SSH connection was lost, if it was
        self._pause_due = False

    async def next_output(self) -> bytes | str | None:
        """The next output (bytes) or mark (its id) to send to the browser; None once the channel has closed or,
        once the shell has ended, no output came for OUTPUT_AFTER_EXIT seconds: a browser that stopped taking it
        does not keep the session open (the rest, at most a window, is dropped)."""
        while True:
            try:
                async with asyncio.timeout(OUTPUT_AFTER_EXIT if self.exited else None):
                    frame = await self.frames.get()
            except TimeoutError:
                return None
            if frame is self.CLOSED:
                return None
            if frame is not self.EXITED:
                return frame
            # EXITED: wait for more output, now for OUTPUT_AFTER_EXIT seconds at most

    @property
    def input_overflowing(self) -> bool:
        """More typed input waits for the VM to read it than the server keeps."""
        return self.channel.get_write_buffer_size() > INPUT_BUFFER_LIMIT

    def connection_made(self, channel: asyncssh.SSHClientChannel) -> None:
        self.channel = channel

    def data_received(self, data: bytes, datatype) -> None:
        self.frames.put_nowait(data)
        mark = self.window.sent(len(data))
        if mark:
            self.frames.put_nowait(mark)
        if not self.window.is_open and not self._pause_due:
            # Paused at once, a resumed channel would pass on one packet and pause again, yet asyncssh reopens the
            # whole SSH window for that one packet while still holding the rest: each acknowledgement would let in
            # another window. Paused once the current callback is done, it first passes on all it holds.
            self._pause_due = True
            asyncio.get_running_loop().call_soon(self._pause)

    def _pause(self) -> None:
        self._pause_due = False
        if not self.window.is_open:
            self.channel.pause_reading()

    def acknowledged(self, mark) -> None:
        if self.window.acknowledged(mark) and self.window.is_open:
            self.channel.resume_reading()

    # asyncssh reports the exit at once, even while the channel still holds output; the end of the output, and the
    # channel closing, only once all of it was passed on.

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status
        self._exited()

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self.exit_signal = signal
        self._exited()

    def eof_received(self) -> bool:
        self._exited()
        return False  # asyncssh then ends the input too

    def connection_lost(self, exc: Exception | None) -> None:
        self.error = exc
        self.frames.put_nowait(self.CLOSED)

    def _exited(self) -> None:
        if not self.exited:
            self.exited = True
            self.frames.put_nowait(self.EXITED)
