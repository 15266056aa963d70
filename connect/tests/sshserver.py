"""A real SSH server for the tests: asyncssh on 127.0.0.1, a free port, in a thread with its own event loop.

Users: `alice` logs in with a password, `bob` with an Ed25519 key. Their shell is a tiny line shell that
echoes what is typed (as a terminal in cooked mode would) and knows `whoami`, `size`, `term`, `echo`,
`exit [N]`, `flood N` (writes N bytes of dots as fast as the client takes them), `dump N` (writes N bytes of dots
at once: what the client does not take waits in the server), `deaf` (stops reading its input), `hangup` (closes the
channel, once its output is sent, without an exit status), `kill` (ends as if by SIGKILL) and `drop` (drops the
whole connection at once); SFTP serves a temporary directory as `/`. Every password or key the server was offered
is recorded.
"""

import asyncio
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from connect.ssh import fingerprint, public_key_line

PASSWORD_USER = "alice"
PASSWORD = "alice-ssh-password"
KEY_USER = "bob"
PROMPT = b"$ "
FLOOD_CHUNK = 4096
# The most a flood writes beyond what the SSH window lets through: asyncssh takes writes until it buffers more than
# its 64 KiB high-water mark, and the flood writes FLOOD_CHUNK bytes at a time.
FLOOD_AHEAD = 64 * 1024 + FLOOD_CHUNK


@dataclass
class SSHTestServer:
    host_key: asyncssh.SSHKey
    client_key: asyncssh.SSHKey
    other_host_keys: list = field(default_factory=list)  # more keys, of other types, the server also has
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="vmlab-sftp-")))
    host: str = "127.0.0.1"
    port: int = 0
    sessions: list = field(default_factory=list)  # (username, term_type) of every shell started
    auth_attempts: list = field(default_factory=list)  # (username, "password" or "publickey") of every login try
    flooded: int = 0  # bytes the last `flood` has written so far

    def __post_init__(self):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ssh-test-server", daemon=True)

    @property
    def host_key_line(self) -> str:
        return public_key_line(self.host_key)

    @property
    def host_key_fingerprint(self) -> str:
        return fingerprint(self.host_key)

    @property
    def client_key_pem(self) -> str:
        return self.client_key.export_private_key("openssh").decode()

    def start(self) -> "SSHTestServer":
        self._thread.start()
        self._server = self.call(self._listen())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self._server.close()
        self.call(self._server.wait_closed())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def call(self, coroutine):
        """Run `coroutine` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _listen(self):
        return await asyncssh.create_server(
            lambda: _Accounts(self.client_key, self.auth_attempts),
            self.host,
            0,
            server_host_keys=[self.host_key, *self.other_host_keys],
            process_factory=self._shell,
            sftp_factory=lambda channel: asyncssh.SFTPServer(channel, chroot=str(self.root).encode()),
            encoding=None,
            line_editor=False,
        )

    async def _shell(self, process: asyncssh.SSHServerProcess) -> None:
        username = process.get_extra_info("username")
        if process.command is not None:  # `ssh vm whoami`: run it, no prompt
            process.exit(self._run(process, username, process.command) or 0)
            return
        self.sessions.append((username, process.get_terminal_type()))
        process.stdout.write(f"Welcome {username}\r\n".encode() + PROMPT)
        line = b""
        while True:
            try:
                data = await process.stdin.read(4096)
            except asyncssh.TerminalSizeChanged:
                continue
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                continue
            if not data:
                process.exit(0)
                return
            for byte in data:
                char = bytes([byte])
                if char == b"\r":
                    process.stdout.write(b"\r\n")
                    if line == b"deaf":
                        await process.channel.wait_closed()  # reads nothing more: the input piles up
                        return
                    if line == b"hangup":
                        process.close()
                        return
                    if line == b"kill":
                        process.exit_with_signal("KILL")
                        return
                    if line == b"drop":
                        process.get_extra_info("connection").abort()
                        return
                    if line.startswith(b"flood ") and not await self._flood(process, int(line.split()[1])):
                        return  # the client went away mid-flood
                    if line.startswith(b"dump "):
                        process.stdout.write(b"." * int(line.split()[1]))
                    status = self._run(process, username, line.decode())
                    if status is not None:
                        process.exit(status)
                        return
                    process.stdout.write(PROMPT)
                    line = b""
                else:
                    process.stdout.write(char)
                    line += char

    async def _flood(self, process: asyncssh.SSHServerProcess, size: int) -> bool:
        """Write `size` dots, waiting whenever the SSH window is full, as a program writing to a terminal does;
        False if the client went away first."""
        self.flooded = 0
        chunk = b"." * FLOOD_CHUNK
        try:
            while self.flooded < size:
                process.stdout.write(chunk)
                self.flooded += len(chunk)
                await process.stdout.drain()
        except (OSError, asyncssh.Error):
            return False
        return True

    @staticmethod
    def _run(process, username: str, command: str) -> int | None:
        """Write the output of `command`; return an exit status to end the shell."""
        name, _, argument = command.strip().partition(" ")
        if name == "exit":
            return int(argument or 0)
        outputs = {
            "": "",
            "flood": "",
            "dump": "",
            "whoami": username,
            "size": "{}x{}".format(*process.get_terminal_size()[:2]),
            "term": process.get_terminal_type() or "",
            "echo": argument,
        }
        output = outputs.get(name, f"sh: {name}: not found")
        if output:
            process.stdout.write(output.encode() + b"\r\n")
        return None


class _Accounts(asyncssh.SSHServer):
    def __init__(self, client_key: asyncssh.SSHKey, attempts: list):
        self._client_key_line = public_key_line(client_key)
        self._attempts = attempts

    def begin_auth(self, username):
        return True

    def password_auth_supported(self):
        return True

    def validate_password(self, username, password):
        self._attempts.append((username, "password"))
        return username == PASSWORD_USER and password == PASSWORD

    def public_key_auth_supported(self):
        return True

    def validate_public_key(self, username, key):
        self._attempts.append((username, "publickey"))
        return username == KEY_USER and public_key_line(key) == self._client_key_line


class SilentServer:
    """Accepts TCP connections and never says a word: an SSH client waiting for the banner times out."""

    def __init__(self, greeting: bytes = b""):
        self.greeting = greeting
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="silent-server", daemon=True)
        self._writers = []

    def start(self) -> "SilentServer":
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(asyncio.start_server(self._greet, "127.0.0.1", 0), self._loop)
        self._server = future.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _greet(self, reader, writer):
        self._writers.append(writer)
        if self.greeting:
            writer.write(self.greeting)
            await writer.drain()
            writer.close()

    def stop(self) -> None:
        async def close():
            self._server.close()
            for writer in self._writers:
                writer.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
