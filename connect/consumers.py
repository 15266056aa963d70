"""The browser terminal: a WebSocket from static/js/terminal.js joined to an SSH shell on a VM.

The messages and the output flow control are described in connect.terminal_protocol. The consumer drives the SSH
channel itself (Shell), so what the server holds of a session's output stays bounded however fast the shell writes
and whatever the browser does: at most UNACKED_OUTPUT_LIMIT + OUTPUT_WINDOW sent or queued for the browser, and
OUTPUT_WINDOW in the channel.

Every accepted session has one VM_TERMINAL audit row, written when it is accepted (outcome "open", so that live
sessions and those of a killed process show) and completed when it ends: times, byte counts, how it ended and the
host key, never what was typed or shown.
"""

import asyncio
import json
import logging
from importlib import import_module

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

from audit.context import for_scope
from audit.models import Action, AuditEvent
from audit.services import audit_complete, audit_record
from connect import ssh
from connect.services import (
    allow_connection,
    may_connect,
    too_many_connections_message,
    vm_host_key_trust,
)
from connect.targets import target_for
from connect.terminal_protocol import COLUMNS, ROWS, OutputWindow, bounded, parse_control, terminal_size
from connect.terminal_slots import TerminalSlot
from machines.models import VirtualMachine
from machines.services import HostKeyConflict

logger = logging.getLogger(__name__)

ACCESS_CHECK_INTERVAL = 60.0  # seconds between checks that the user may still use the VM
MAX_FRAME = 64 * 1024  # the largest frame taken from the browser; terminal.js sends a paste in smaller pieces
UNACKED_OUTPUT_LIMIT = 1024 * 1024  # output bytes the browser may have left to show before the shell's output waits
OUTPUT_WINDOW = 256 * 1024  # the SSH channel's receive window: the output the VM may send ahead of the browser
OUTPUT_AFTER_EXIT = 5.0  # seconds without output, once the shell has ended, before the session ends anyway
INPUT_BUFFER_LIMIT = 1024 * 1024  # input bytes waiting for the VM to read them before the session is ended
SLOT_TTL = 5 * 60.0  # seconds an open terminal counts for TERMINAL_SESSIONS_PER_USER after its last access check


class Refused(Exception):
    """The session ends before a shell starts, for a reason that ConnectError does not name."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


def visible_vm(user, pk: int) -> VirtualMachine | None:
    return VirtualMachine.objects.visible_to(user).for_list().filter(pk=pk).first()


def access_lost(session_key: str, user_pk: int, vm_pk: int) -> str:
    """Why the user may no longer use this terminal, or "" while they may. Reads the session afresh."""
    user_model = auth.get_user_model()
    if not user_model.objects.filter(pk=user_pk, is_active=True).exists():
        return _("Your account was disabled.")
    if user_model.objects.filter(pk=user_pk).access_ended().exists():
        return _("Your access to VM Lab has ended: your account expired.")
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(request)  # anonymous once the session was logged out, expired or invalidated
    if user.pk != user_pk:
        return _("Your session ended (you logged out, or it expired): log in again to reconnect.")
    if not VirtualMachine.objects.filter(pk=vm_pk).exists():
        return _("The VM was deleted.")
    if not may_connect(vm_pk, user):
        return _("Your access to this VM has ended.")
    return ""


class Shell(asyncssh.SSHClientSession):
    """The shell's SSH channel, read only as fast as the browser shows its output.

    The output is queued for the consumer in `frames` as it arrives: bytes of output, the id of a mark to send right
    after them, EXITED once the shell has ended and CLOSED once the channel has. While more than the window's limit
    is not shown, the channel stops reading: asyncssh keeps what arrives, and sends no window adjust, so it holds at
    most the SSH window and the program on the VM waits.
    """

    EXITED = object()
    CLOSED = object()

    def __init__(self, window: OutputWindow):
        self.window = window
        self.channel: asyncssh.SSHClientChannel | None = None
        self.frames: asyncio.Queue = asyncio.Queue()
        self.exited = False
        self.exit_status: int | None = None
        self.exit_signal: str | None = None
        self.error: Exception | None = None  # why the SSH connection was lost, if it was
        self._pause_due = False

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
        self.audit_context = for_scope(self.scope)
        self.session_key = self.scope["session"].session_key
        self.connection: asyncssh.SSHClientConnection | None = None
        self.shell: Shell | None = None
        self.trust_answer: asyncio.Future | None = None
        self.ending: asyncio.Future[str] = loop.create_future()  # a handler ends the session with an outcome
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
        if self.shell is None or self.ending.done():
            return  # no shell (yet, or any more): nothing to type into
        try:
            self.shell.channel.write(data)
        except OSError:
            return  # the channel is closing: typing into it keeps nothing open (see watch)
        self.last_input = asyncio.get_running_loop().time()
        self.bytes_in += len(data)
        # Not waiting for the VM to read it: the frames would only pile up in the server's unbounded receive queue.
        if self.shell.channel.get_write_buffer_size() > INPUT_BUFFER_LIMIT:
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
            if self.shell is not None:
                self.shell.acknowledged(message.get("id"))
        elif kind == "trust":
            if self.trust_answer is not None and not self.trust_answer.done():
                self.last_input = asyncio.get_running_loop().time()
                self.trust_answer.set_result(str(message.get("fingerprint", "")))
        else:
            await self.send_json(type="error", kind="bad_message", message=_("Unknown control message."))

    def resize(self, message: dict) -> None:
        self.cols, self.rows = bounded(message.get("cols"), COLUMNS), bounded(message.get("rows"), ROWS)
        if self.shell is not None:
            self.shell.channel.change_terminal_size(self.cols, self.rows)

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
            _channel, self.shell = await self.connection.create_session(
                lambda: Shell(OutputWindow(UNACKED_OUTPUT_LIMIT)),
                term_type="xterm-256color",
                term_size=(self.cols, self.rows),
                encoding=None,
                window=OUTPUT_WINDOW,
            )
        except (asyncssh.Error, OSError) as error:
            return await self.ssh_lost(error)
        await self.send_json(type="connected")
        await self.relay_output()
        if self.shell.error is not None:
            return await self.ssh_lost(self.shell.error)
        return await self.shell_ended()

    async def relay_output(self) -> None:
        """Send the shell's output to the browser until the channel closes; or, once the shell has ended, until no
        output came for OUTPUT_AFTER_EXIT seconds: a browser that stopped taking it does not keep the session open
        (the rest, at most a window, is dropped)."""
        while True:
            try:
                async with asyncio.timeout(OUTPUT_AFTER_EXIT if self.shell.exited else None):
                    frame = await self.shell.frames.get()
            except TimeoutError:
                return
            if frame is Shell.CLOSED:
                return
            if isinstance(frame, bytes):
                self.bytes_out += len(frame)
                await self.send(bytes_data=frame)
            elif isinstance(frame, str):
                await self.send_json(type="mark", id=frame)
            # Shell.EXITED: wait for more output, now for OUTPUT_AFTER_EXIT seconds at most

    async def ssh_lost(self, error: Exception) -> str:
        message = _("The SSH session ended unexpectedly: %(reason)s") % {"reason": error}
        await self.send_json(type="closed", message=message)
        return "connection lost"

    async def shell_ended(self) -> str:
        status, signal = self.shell.exit_status, self.shell.exit_signal
        if signal:
            message = _("The shell was ended by signal %(name)s.") % {"name": signal}
            await self.send_json(type="closed", message=message)
            return f"signal {signal}"
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
                vm=self.vm, actor=self.user, key=offered, offered_by=target, context=self.audit_context
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
        """Ends the session (returns why) after TERMINAL_IDLE_TIMEOUT minutes without input, once access is lost, or
        once this terminal lost its slot.

        The idle timeout also bounds the one end the shell's channel does not report at once: a VM that closes the
        channel without an exit status while it holds output the browser does not take (asyncssh reports that close
        only after passing all the output on). Typing into a closed channel is not input."""
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
                if not await sync_to_async(self.slot.refresh)():
                    message = _(
                        "This terminal was closed: its place among your %(count)d allowed terminals had lapsed, and "
                        "another terminal took it."
                    ) % {"count": settings.TERMINAL_SESSIONS_PER_USER}
                    await self.send_json(type="closed", message=message)
                    return "too_many_terminals"
                reason = await database_sync_to_async(access_lost)(self.session_key, self.user.pk, self.vm.pk)
                if reason:
                    await self.send_json(type="closed", message=reason)
                    return "access revoked"
                next_check = loop.time() + ACCESS_CHECK_INTERVAL
            await asyncio.sleep(min(self.last_input + idle_limit, next_check) - loop.time())

    def audit_open(self) -> AuditEvent:
        details = {"started_at": self.started.isoformat(), "outcome": "open"}
        return audit_record(
            action=Action.VM_TERMINAL, actor=self.user, target=self.vm, context=self.audit_context, details=details
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
