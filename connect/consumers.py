"""The browser terminal: a WebSocket from static/js/terminal.js joined to an SSH shell on a VM, for one session.

The session logs in (confirming the host key on first use), runs the shell and ends it, and has one VM_TERMINAL audit
row, written when it is accepted (outcome "open", so that live sessions and those of a killed process show) and
completed when it ends: times, byte counts, how it ended and the host key, never what was typed or shown. Around it:
the messages are described in connect.terminal_protocol, the shell's channel and its flow control are in
connect.terminal_shell, and whether the user may go on is checked by connect.terminal_access.
"""

import asyncio
import json
import logging

import asyncssh
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import language
from audit.context import for_scope
from connect import ssh, terminal_access
from connect.services import (
    TooManyConnections,
    terminal_connect,
    terminal_session_close,
    terminal_session_open,
    vm_host_key_trust,
)
from connect.targets import target_for
from connect.terminal_protocol import COLUMNS, ROWS, bounded, parse_control, terminal_size
from connect.terminal_shell import Shell
from connect.terminal_slots import TerminalSlot
from machines.services import HostKeyConflict

logger = logging.getLogger(__name__)

MAX_FRAME = 64 * 1024  # the largest frame taken from the browser; terminal.js sends a paste in smaller pieces


class Refused(Exception):
    """The session ends before a shell starts, for a reason that ConnectError does not name."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class TerminalConsumer(AsyncWebsocketConsumer):
    session_task: asyncio.Task | None = None  # from the accept to the end: run_session

    async def connect(self):
        # The messages of this connection in its user's language (what a page would be in); every task started
        # from here inherits it.
        translation.activate(language.for_connection(self.scope))
        self.user = self.scope["user"]
        self.vm = await database_sync_to_async(terminal_access.visible_vm)(
            self.user, self.scope["url_route"]["kwargs"]["pk"]
        )
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
        self.slot = TerminalSlot(self.user.pk, terminal_access.SLOT_TTL)
        self.fingerprint = ""
        self.bytes_in = self.bytes_out = 0
        self.last_input = loop.time()
        await self.accept()
        self.audit_event = await database_sync_to_async(terminal_session_open)(
            vm=self.vm, actor=self.user, context=self.audit_context
        )
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
            return  # the channel is closing: typing into it keeps nothing open (see watch_idle)
        self.last_input = asyncio.get_running_loop().time()
        self.bytes_in += len(data)
        # Not waiting for the VM to read it: the frames would only pile up in the server's unbounded receive queue.
        if self.shell.input_overflowing:
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
        """Returns how the session ended: the shell (serve), idling (watch_idle), lost access (watch_access), or a
        handler (end)."""
        if not await sync_to_async(self.slot.acquire)():
            message = ngettext(
                "You already have %(count)d terminals open, the most allowed: close one, then press Reconnect.",
                "You already have %(count)d terminals open, the most allowed: close one, then press Reconnect.",
                settings.TERMINAL_SESSIONS_PER_USER,
            ) % {"count": settings.TERMINAL_SESSIONS_PER_USER}
            await self.send_json(type="error", kind="too_many_terminals", message=message)
            return "too_many_terminals"
        tasks = [asyncio.create_task(job) for job in (self.serve(), self.watch_idle(), self.watch_access())]
        try:
            done, _pending = await asyncio.wait([*tasks, self.ending], return_when=asyncio.FIRST_COMPLETED)
            return next(future for future in (*tasks, self.ending) if future in done).result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def finish(self, outcome: str) -> None:
        """Every step of the end, each one even if one before it failed."""
        steps = (
            self.close_ssh,
            sync_to_async(self.slot.release),
            lambda: database_sync_to_async(terminal_session_close)(
                event=self.audit_event,
                outcome=outcome,
                bytes_in=self.bytes_in,
                bytes_out=self.bytes_out,
                host_key_fingerprint=self.fingerprint,
            ),
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
            self.shell = await Shell.start(self.connection, self.cols, self.rows)
        except (asyncssh.Error, OSError) as error:
            return await self.ssh_lost(error)
        await self.send_json(type="connected")
        await self.relay_output()
        if self.shell.error is not None:
            return await self.ssh_lost(self.shell.error)
        return await self.shell_ended()

    async def relay_output(self) -> None:
        """Send the shell's output and marks to the browser until it ends (Shell.next_output)."""
        while (frame := await self.shell.next_output()) is not None:
            if isinstance(frame, bytes):
                self.bytes_out += len(frame)
                await self.send(bytes_data=frame)
            else:
                await self.send_json(type="mark", id=frame)

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
        try:
            connection = await terminal_connect(vm=self.vm, target=target, actor=self.user)
        except TooManyConnections as error:
            raise Refused("rate_limited", error.message) from None
        except PermissionDenied as denied:
            raise Refused("access_revoked", str(denied)) from None
        except ssh.ConnectError as error:
            # The key the server presented: the one it offered, or past the handshake the stored one it matched.
            verified = self.vm.host_key_fingerprint if error.step == ssh.Step.LOGIN else ""
            self.fingerprint = error.offered_fingerprint or verified
            raise
        self.fingerprint = ssh.fingerprint(connection.get_server_host_key())
        return connection

    async def watch_idle(self) -> str:
        """Ends the session (returns why) after TERMINAL_IDLE_TIMEOUT minutes without input.

        The idle timeout also bounds the one end the shell's channel does not report at once: a VM that closes the
        channel without an exit status while it holds output the browser does not take (asyncssh reports that close
        only after passing all the output on). Typing into a closed channel is not input."""
        loop = asyncio.get_running_loop()
        idle_limit = settings.TERMINAL_IDLE_TIMEOUT * 60
        while (left := self.last_input + idle_limit - loop.time()) > 0:
            await asyncio.sleep(left)
        message = _("Closed after %(minutes)g minutes without input.") % {"minutes": settings.TERMINAL_IDLE_TIMEOUT}
        await self.send_json(type="closed", message=message)
        return "idle timeout"

    async def watch_access(self) -> str:
        """Ends the session (returns why) once the user may no longer use it, or this terminal lost its slot."""
        lost = await terminal_access.watch(
            session_key=self.session_key, user_pk=self.user.pk, vm_pk=self.vm.pk, slot=self.slot
        )
        await self.send_json(type="closed", message=lost.message)
        return lost.outcome
