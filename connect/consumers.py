"""The browser terminal: a WebSocket from static/js/terminal.js joined to an SSH shell on a VM.

Binary frames carry the terminal's bytes both ways; text frames carry JSON control messages.
Browser to server: {"type": "resize", "cols", "rows"}, {"type": "trust", "fingerprint"}.
Server to browser: {"type": "status", "message"}, {"type": "host_key", "fingerprint", "algorithm", "message"},
{"type": "connected"}, {"type": "error", "kind", "message"}, {"type": "closed", "message", "exit_status"?}.

Every accepted session leaves one VM_TERMINAL audit row when it ends: times, byte counts, how it ended and the
host key, never what was typed or shown.
"""

import asyncio
import contextlib
import json
import logging
from importlib import import_module
from types import SimpleNamespace
from urllib.parse import parse_qs

import asyncssh
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import Action
from audit.services import audit_record
from connect import ssh
from connect.services import HostKeyConflict, vm_host_key_trust
from connect.targets import target_for
from machines.models import VirtualMachine

logger = logging.getLogger(__name__)

ACCESS_CHECK_INTERVAL = 60.0  # seconds between checks that the user may still use the VM
MAX_FRAME = 64 * 1024  # the largest frame taken from the browser; terminal.js sends a paste in smaller pieces
COLUMNS = (10, 500, 80)  # lowest, highest, default
ROWS = (2, 200, 24)


class Refused(Exception):
    """The session ends before a shell starts, for a reason that ConnectError does not name."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


def bounded(value, limits: tuple[int, int, int]) -> int:
    """`value` as a number of columns or rows within the limits; the default if it is not a number."""
    lowest, highest, default = limits
    try:
        return min(max(int(value), lowest), highest)
    except (TypeError, ValueError):
        return default


def terminal_size(query_string: bytes) -> tuple[int, int]:
    query = parse_qs(query_string.decode("latin1"))
    return bounded(query.get("cols", [""])[0], COLUMNS), bounded(query.get("rows", [""])[0], ROWS)


def scope_request(scope) -> SimpleNamespace:
    """What audit_record reads from a request, from the WebSocket's scope: vmlab.client_ip applies the proxy rule."""
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        key, text = name.decode("latin1").lower(), value.decode("latin1")
        headers[key] = f"{headers[key]},{text}" if key in headers else text  # as Django joins repeated headers
    client = scope.get("client") or [""]
    meta = {
        "REMOTE_ADDR": client[0] or "",
        "HTTP_X_FORWARDED_FOR": headers.get("x-forwarded-for", ""),
        "HTTP_USER_AGENT": headers.get("user-agent", ""),
    }
    return SimpleNamespace(META=meta, user=scope["user"])


def visible_vm(user, pk: int) -> VirtualMachine | None:
    return VirtualMachine.objects.visible_to(user).for_list().filter(pk=pk).first()


def access_lost(session_key: str, user_pk: int, vm_pk: int) -> str:
    """Why the user may no longer use this terminal, or "" while they may. Reads the session afresh."""
    user_model = auth.get_user_model()
    if not user_model.objects.filter(pk=user_pk, is_active=True).exists():
        return _("Your account was disabled.")
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(request)  # anonymous once the session was logged out, expired or invalidated
    if user.pk != user_pk:
        return _("Your session ended (you logged out, or it expired): log in again to reconnect.")
    if not VirtualMachine.objects.filter(pk=vm_pk).exists():
        return _("The VM was deleted.")
    if not VirtualMachine.objects.visible_to(user).filter(pk=vm_pk).exists():
        return _("You no longer have access to this VM.")
    return ""


class TerminalConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.user = self.scope["user"]
        self.vm = await database_sync_to_async(visible_vm)(self.user, self.scope["url_route"]["kwargs"]["pk"])
        if self.vm is None:
            # Before accept: the handshake is refused, and nothing tells a forged id from a foreign one.
            await self.close()
            return
        self.cols, self.rows = terminal_size(self.scope["query_string"])
        self.request = scope_request(self.scope)
        self.session_key = self.scope["session"].session_key
        self.connection: asyncssh.SSHClientConnection | None = None
        self.process: asyncssh.SSHClientProcess | None = None
        self.trust_answer: asyncio.Future | None = None
        self.fingerprint = ""
        self.bytes_in = self.bytes_out = 0
        self.last_input = asyncio.get_running_loop().time()
        await self.accept()
        self.session_task = asyncio.create_task(self.run_session())

    async def disconnect(self, code):
        task = getattr(self, "session_task", None)
        if task is not None and not task.done():
            task.cancel()  # the browser went away: run_session closes the SSH connection and writes the audit row
            await asyncio.wait([task])

    async def receive(self, text_data=None, bytes_data=None):
        frame = text_data if text_data is not None else bytes_data
        if len(frame) > MAX_FRAME:
            message = _("Input of more than %(kib)d KiB at once was refused.") % {"kib": MAX_FRAME // 1024}
            await self.send_json(type="error", kind="too_large", message=message)
        elif bytes_data is not None:
            self.keystrokes(bytes_data)
        else:
            await self.control(text_data)

    def keystrokes(self, data: bytes) -> None:
        if self.process is None:
            return  # no shell yet: nothing to type into
        self.last_input = asyncio.get_running_loop().time()
        try:
            self.process.stdin.write(data)
        except OSError:
            return  # the shell has just ended; the session is closing
        self.bytes_in += len(data)

    async def control(self, text: str) -> None:
        try:
            message = json.loads(text)
            kind = message.get("type")
        except (ValueError, AttributeError):
            kind = None
        if kind == "resize":
            self.cols, self.rows = bounded(message.get("cols"), COLUMNS), bounded(message.get("rows"), ROWS)
            if self.process is not None:
                with contextlib.suppress(OSError):  # the shell has just ended
                    self.process.change_terminal_size(self.cols, self.rows)
        elif kind == "trust":
            if self.trust_answer is not None and not self.trust_answer.done():
                self.last_input = asyncio.get_running_loop().time()
                self.trust_answer.set_result(str(message.get("fingerprint", "")))
        else:
            await self.send_json(type="error", kind="bad_message", message=_("Unknown control message."))

    async def send_json(self, **message) -> None:
        await self.send(text_data=json.dumps(message))

    async def run_session(self) -> None:
        """The shell until it exits, the browser leaves, the user idles or loses access; then audit, then close."""
        started = timezone.now()
        outcome = "closed by the browser"  # unless something else ends the session first
        serve = asyncio.create_task(self.serve())
        watch = asyncio.create_task(self.watch())
        try:
            done, _pending = await asyncio.wait([serve, watch], return_when=asyncio.FIRST_COMPLETED)
            outcome = (serve if serve in done else watch).result()
        except Exception:
            logger.exception("Terminal session on VM %s failed", self.vm.pk)
            outcome = "internal error"
            await self.send_json(type="error", kind="internal", message=_("The terminal failed; try to reconnect."))
        finally:
            for task in (serve, watch):
                task.cancel()
            await asyncio.gather(serve, watch, return_exceptions=True)
            if self.connection is not None:
                self.connection.close()
                await self.connection.wait_closed()
            await database_sync_to_async(self.audit)(started, outcome)
        await self.close(1000)

    async def serve(self) -> str:
        """Log in and run the shell; returns how the session ended, for the audit trail."""
        try:
            self.connection = await self.log_in()
        except (ssh.ConnectError, Refused) as error:
            await self.send_json(type="error", kind=str(error.kind), message=error.message)
            return str(error.kind)
        try:
            self.process = await self.connection.create_process(
                term_type="xterm-256color", term_size=(self.cols, self.rows), encoding=None, stderr=asyncssh.STDOUT
            )
            await self.send_json(type="connected")
            while data := await self.process.stdout.read(MAX_FRAME):
                self.bytes_out += len(data)
                await self.send(bytes_data=data)
            await self.process.wait()
        except (asyncssh.Error, OSError) as error:
            message = _("The SSH session ended unexpectedly: %(reason)s") % {"reason": error}
            await self.send_json(type="closed", message=message)
            return "connection lost"
        return await self.shell_ended()

    async def shell_ended(self) -> str:
        status, signal = self.process.exit_status, self.process.exit_signal
        if signal:
            message = _("The shell was ended by signal %(name)s.") % {"name": signal[0]}
            await self.send_json(type="closed", message=message)
            return f"signal {signal[0]}"
        if status is None:
            await self.send_json(type="closed", message=_("The VM closed the connection."))
            return "connection lost"
        message = _("The shell exited with status %(status)d.") % {"status": status}
        await self.send_json(type="closed", message=message, exit_status=status)
        return f"exit {status}"

    async def log_in(self) -> asyncssh.SSHClientConnection:
        """A logged-in connection; on first use, only once the user confirmed the host key the server offered."""
        where = {"host": self.vm.host, "port": self.vm.port}
        await self.send_json(type="status", message=_("Connecting to %(host)s port %(port)s…") % where)
        target = await database_sync_to_async(target_for)(self.vm)
        try:
            return await self.open_ssh(target)
        except ssh.ConnectError as error:
            if error.kind != ssh.FailureKind.HOST_KEY_UNKNOWN:
                raise
            offered, offered_fingerprint, prompt = error.offered_key, error.offered_fingerprint, error.message
        self.trust_answer = asyncio.get_running_loop().create_future()
        await self.send_json(
            type="host_key", fingerprint=offered_fingerprint, algorithm=ssh.key_algorithm(offered), message=prompt
        )
        if await self.trust_answer != offered_fingerprint:
            message = _("The confirmed fingerprint is not the one the server offered: nothing was stored.")
            raise Refused("host_key_not_confirmed", message)
        # Stored before any credential is sent, and only if the VM still has no key and the same address:
        # the login below then checks the server against the stored key like any later connection.
        try:
            await database_sync_to_async(vm_host_key_trust)(
                vm=self.vm, actor=self.user, key=offered, offered_by=target, request=self.request
            )
        except HostKeyConflict as conflict:
            raise Refused("host_key_conflict", str(conflict)) from None
        except PermissionDenied as denied:
            raise Refused("access_revoked", str(denied)) from None
        await self.send_json(type="status", message=_("Host key confirmed; connecting to %(host)s…") % where)
        self.connection = await self.open_ssh(await database_sync_to_async(target_for)(self.vm))
        return self.connection

    async def open_ssh(self, target: ssh.Target, trust: asyncssh.SSHKey | None = None) -> asyncssh.SSHClientConnection:
        try:
            connection = await ssh.connect(
                target, timeout=settings.SSH_CONNECT_TIMEOUT, trust=trust, keepalive_interval=30
            )
        except ssh.ConnectError as error:
            # The key the server presented: the one it offered, or past the handshake the stored one it matched.
            verified = self.vm.host_key_fingerprint if error.step == ssh.Step.LOGIN else ""
            self.fingerprint = error.offered_fingerprint or verified
            raise
        self.fingerprint = ssh.fingerprint(connection.get_server_host_key())
        return connection

    async def watch(self) -> str:
        """Ends the session (returns why) after TERMINAL_IDLE_TIMEOUT minutes without input or once access is lost."""
        loop = asyncio.get_running_loop()
        idle_limit = settings.TERMINAL_IDLE_TIMEOUT * 60
        next_check = loop.time() + ACCESS_CHECK_INTERVAL
        while True:
            if loop.time() >= self.last_input + idle_limit:
                message = _("Closed after %(minutes)g minutes without input.") % {
                    "minutes": settings.TERMINAL_IDLE_TIMEOUT
                }
                await self.send_json(type="closed", message=message)
                return "idle timeout"
            if loop.time() >= next_check:
                reason = await database_sync_to_async(access_lost)(self.session_key, self.user.pk, self.vm.pk)
                if reason:
                    await self.send_json(type="closed", message=reason)
                    return "access revoked"
                next_check = loop.time() + ACCESS_CHECK_INTERVAL
            await asyncio.sleep(min(self.last_input + idle_limit, next_check) - loop.time())

    def audit(self, started, outcome: str) -> None:
        ended = timezone.now()
        details = {
            "started_at": started.isoformat(),
            "ended_at": ended.isoformat(),
            "duration_seconds": round((ended - started).total_seconds(), 1),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "outcome": outcome,
            "host_key_fingerprint": self.fingerprint,
        }
        audit_record(action=Action.VM_TERMINAL, actor=self.user, target=self.vm, request=self.request, details=details)
