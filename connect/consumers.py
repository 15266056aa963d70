"""The browser terminal: a WebSocket from static/js/terminal.js joined to an SSH shell on a VM.

The messages and the output flow control are described in connect.terminal_protocol. Every accepted session has
one VM_TERMINAL audit row, written when it is accepted (outcome "open", so that live sessions and those of a killed
process show) and completed when it ends: times, byte counts, how it ended and the host key, never what was typed
or shown.
"""

import asyncio
import contextlib
import json
import logging
from importlib import import_module
from types import SimpleNamespace

import asyncssh
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import Action, AuditEvent
from audit.services import audit_complete, audit_record
from connect import ssh
from connect.services import HostKeyConflict, allow_connection, too_many_connections_message, vm_host_key_trust
from connect.targets import target_for
from connect.terminal_protocol import COLUMNS, ROWS, OutputWindow, bounded, parse_control, terminal_size
from connect.terminal_slots import TerminalSlot
from machines.models import VirtualMachine

logger = logging.getLogger(__name__)

ACCESS_CHECK_INTERVAL = 60.0  # seconds between checks that the user may still use the VM
MAX_FRAME = 64 * 1024  # the largest frame taken from the browser; terminal.js sends a paste in smaller pieces
UNACKED_OUTPUT_LIMIT = 1024 * 1024  # output bytes the browser may have left to write before the shell's output waits
INPUT_BUFFER_LIMIT = 1024 * 1024  # input bytes waiting for the VM to read them before the session is ended
SLOT_TTL = 5 * 60.0  # seconds an open terminal counts for TERMINAL_SESSIONS_PER_USER after its last access check


class Refused(Exception):
    """The session ends before a shell starts, for a reason that ConnectError does not name."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


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
    session_task: asyncio.Task | None = None  # from the accept to the end: run_session

    async def connect(self):
        self.user = self.scope["user"]
        self.vm = await database_sync_to_async(visible_vm)(self.user, self.scope["url_route"]["kwargs"]["pk"])
        if self.vm is None:
            # Before accept: the handshake is refused, and nothing tells a forged id from a foreign one.
            await self.close()
            return
        loop = asyncio.get_running_loop()
        self.cols, self.rows = terminal_size(self.scope["query_string"])
        self.request = scope_request(self.scope)
        self.session_key = self.scope["session"].session_key
        self.connection: asyncssh.SSHClientConnection | None = None
        self.process: asyncssh.SSHClientProcess | None = None
        self.trust_answer: asyncio.Future | None = None
        self.ending: asyncio.Future[str] = loop.create_future()  # a handler ends the session with an outcome
        self.output_window = OutputWindow(UNACKED_OUTPUT_LIMIT)
        self.slot = TerminalSlot(self.user.pk, SLOT_TTL)
        self.fingerprint = ""
        self.bytes_in = self.bytes_out = 0
        self.last_input = loop.time()
        await self.accept()
        self.started = timezone.now()
        self.audit_event = await database_sync_to_async(self.audit_open)()
        self.session_task = asyncio.create_task(self.run_session())

    async def disconnect(self, code):
        if self.session_task is not None:
            # The browser went away: run_session closes SSH and completes the audit row. Not a cancel, which
            # could interrupt those last steps.
            self.stop("closed by the browser")
            await asyncio.wait([self.session_task])

    async def dispatch(self, message):
        """Every handler: whatever fails in one still closes SSH, completes the audit row and closes the socket."""
        try:
            await super().dispatch(message)
        except StopConsumer:
            raise
        except Exception:
            if self.session_task is None:
                raise  # no session to end: Channels closes the socket
            logger.exception("Terminal on VM %s failed on a %s message", self.vm.pk, message["type"])
            await self.end("internal error", kind="internal", message=_("The terminal failed; try to reconnect."))
            await asyncio.wait([self.session_task])

    def stop(self, outcome: str) -> None:
        """End the session from a handler (run_shell waits for self.ending too); the first outcome given counts."""
        if not self.ending.done():
            self.ending.set_result(outcome)

    async def end(self, outcome: str, **error) -> None:
        """Stop the session, telling the browser why with an error message."""
        if not self.ending.done() and not self.session_task.done():
            await self.send_json(type="error", **error)
            self.stop(outcome)

    async def receive(self, text_data=None, bytes_data=None):
        frame = text_data if text_data is not None else bytes_data
        if len(frame) > MAX_FRAME:
            message = _("Input of more than %(kib)d KiB at once was refused.") % {"kib": MAX_FRAME // 1024}
            await self.send_json(type="error", kind="too_large", message=message)
        elif bytes_data is not None:
            await self.keystrokes(bytes_data)
        else:
            await self.control(parse_control(text_data))

    async def keystrokes(self, data: bytes) -> None:
        if self.process is None or self.ending.done():
            return  # no shell (yet, or any more): nothing to type into
        self.last_input = asyncio.get_running_loop().time()
        try:
            self.process.stdin.write(data)
        except OSError:
            return  # the shell has just ended; the session is closing
        self.bytes_in += len(data)
        # Not awaiting drain(): the frames would only pile up in the server's unbounded receive queue instead.
        if self.process.stdin.channel.get_write_buffer_size() > INPUT_BUFFER_LIMIT:
            message = _(
                "The input arrives faster than the VM reads it, so the session was closed rather than keep piling it "
                "up. Paste less at once, or copy large files with the Files page."
            )
            await self.end("input overflow", kind="input_overflow", message=message)

    async def control(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "resize":
            self.resize(message)
        elif kind == "ack":
            self.output_window.acknowledged(message.get("bytes"))
        elif kind == "trust":
            if self.trust_answer is not None and not self.trust_answer.done():
                self.last_input = asyncio.get_running_loop().time()
                self.trust_answer.set_result(str(message.get("fingerprint", "")))
        else:
            await self.send_json(type="error", kind="bad_message", message=_("Unknown control message."))

    def resize(self, message: dict) -> None:
        self.cols, self.rows = bounded(message.get("cols"), COLUMNS), bounded(message.get("rows"), ROWS)
        if self.process is not None:
            with contextlib.suppress(OSError):  # the shell has just ended
                self.process.change_terminal_size(self.cols, self.rows)

    async def send_json(self, **message) -> None:
        await self.send(text_data=json.dumps(message))

    async def run_session(self) -> None:
        """The session until it ends (see run_shell); then SSH closed, the audit row completed, the socket closed."""
        outcome = "cancelled"  # the server shut down; the browser leaving sets an outcome through stop()
        try:
            outcome = await self.run_shell()
        except Exception:
            logger.exception("Terminal session on VM %s failed", self.vm.pk)
            outcome = "internal error"
            await self.send_json(type="error", kind="internal", message=_("The terminal failed; try to reconnect."))
        finally:
            await self.finish(outcome)

    async def run_shell(self) -> str:
        """Returns how the session ended: the shell (serve), idling or lost access (watch), or a handler (end)."""
        if not await sync_to_async(self.slot.acquire)():
            message = _(
                "You already have %(count)d terminals open, the most allowed: close one, then press Reconnect."
            ) % {"count": settings.TERMINAL_SESSIONS_PER_USER}
            await self.send_json(type="error", kind="too_many_terminals", message=message)
            return "too_many_terminals"
        serve = asyncio.create_task(self.serve())
        watch = asyncio.create_task(self.watch())
        try:
            done, _pending = await asyncio.wait([serve, watch, self.ending], return_when=asyncio.FIRST_COMPLETED)
            return next(future for future in (serve, watch, self.ending) if future in done).result()
        finally:
            for task in (serve, watch):
                task.cancel()
            await asyncio.gather(serve, watch, return_exceptions=True)

    async def finish(self, outcome: str) -> None:
        """Every step of the end, each one even if one before it failed."""
        steps = (
            self.close_ssh,
            sync_to_async(self.slot.release),
            lambda: database_sync_to_async(self.audit_close)(outcome),
            lambda: self.close(1000),  # harmless if the browser has gone already
        )
        for step in steps:
            try:
                await step()
            except Exception:
                logger.exception("Ending the terminal session on VM %s failed", self.vm.pk)

    async def close_ssh(self) -> None:
        if self.connection is not None:
            self.connection.close()
            await self.connection.wait_closed()

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
            while True:
                # While the browser has too much left to write, the output stays unread: asyncssh stops reading,
                # the SSH window fills and the program on the VM waits, instead of daphne's memory growing.
                await self.output_window.wait_open()
                data = await self.process.stdout.read(MAX_FRAME)
                if not data:
                    break
                self.bytes_out += len(data)
                self.output_window.sent(len(data))
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

    async def open_ssh(self, target: ssh.Target) -> asyncssh.SSHClientConnection:
        if not await sync_to_async(allow_connection)(self.user):
            raise Refused("rate_limited", too_many_connections_message())
        try:
            connection = await ssh.connect(target, timeout=settings.SSH_CONNECT_TIMEOUT, keepalive_interval=30)
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
                await sync_to_async(self.slot.refresh)()
                reason = await database_sync_to_async(access_lost)(self.session_key, self.user.pk, self.vm.pk)
                if reason:
                    await self.send_json(type="closed", message=reason)
                    return "access revoked"
                next_check = loop.time() + ACCESS_CHECK_INTERVAL
            await asyncio.sleep(min(self.last_input + idle_limit, next_check) - loop.time())

    def audit_open(self) -> AuditEvent:
        details = {"started_at": self.started.isoformat(), "outcome": "open"}
        return audit_record(
            action=Action.VM_TERMINAL, actor=self.user, target=self.vm, request=self.request, details=details
        )

    def audit_close(self, outcome: str) -> None:
        """Complete the session's row."""
        ended = timezone.now()
        details = {
            "started_at": self.started.isoformat(),
            "ended_at": ended.isoformat(),
            "duration_seconds": round((ended - self.started).total_seconds(), 1),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "outcome": outcome,
            "host_key_fingerprint": self.fingerprint,
        }
        audit_complete(self.audit_event, details)
