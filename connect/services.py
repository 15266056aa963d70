"""Every write the connect app makes, and every connection it opens for a user (connection test, host-key
confirmation, file transfer, terminal), with the access rules checked here once more (as machines.services does).
Each of those connections counts against the user's SSH_CONNECT_RATE_LIMIT: over it, TooManyConnections.

Host keys are written by machines.services (vm_host_key_trust, vm_host_key_reset), like every change to a VM.
"""

import logging
from datetime import datetime
from typing import BinaryIO

import asyncssh
from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_q.tasks import async_task

from access.checks import require
from audit.context import AuditContext
from audit.models import Action, AuditEvent
from audit.services import audit_complete, audit_record
from connect import checks, sftp, ssh
from connect.checks import ConnectionTest
from connect.models import Reachability
from connect.probes import ProbeResult, stored_detail
from connect.ssh import ConnectError, Target, fingerprint, key_algorithm, public_key_line
from connect.targets import target_for
from machines import services as machine_services
from machines.models import VirtualMachine
from vmlab.core import ratelimit

logger = logging.getLogger(__name__)

# "Check now" probes are their own group in the task queue's records, apart from the scheduled runs.
PROBE_TASK_OPTIONS = {"group": "Check now"}

CANNOT_CONNECT = gettext_lazy("You cannot connect to this VM.")


class OtherKeyOffered(Exception):
    """The server offers another host key than the one the user confirmed."""


class TooManyConnections(Exception):
    """The user opened SSH_CONNECT_RATE_LIMIT connections in the last minute: this one was not tried."""

    def __init__(self):
        self.message = _("Too many connections to VMs (at most %(limit)d a minute): wait a minute and try again.") % {
            "limit": settings.SSH_CONNECT_RATE_LIMIT
        }
        super().__init__(self.message)


def _count_connection(actor) -> None:
    """Count one connection opened for `actor`, by every service that opens one; TooManyConnections over
    SSH_CONNECT_RATE_LIMIT a minute, so that the portal cannot be used to scan hosts and ports quickly."""
    if not ratelimit.allow(f"ssh-connection:{actor.pk}", limit=settings.SSH_CONNECT_RATE_LIMIT):
        raise TooManyConnections


def vm_connection_test(*, vm: VirtualMachine, actor, context: AuditContext | None = None) -> ConnectionTest:
    """Connect and log in with the VM's stored credentials, as the terminal and the files do, then log out.

    One audit row with the result: the step that failed and the key the server offered, never a secret.
    """
    require(VirtualMachine.objects.visible_to, actor, vm, CANNOT_CONNECT)
    _count_connection(actor)
    try:
        target = target_for(vm)
    except ConnectError as error:  # a stored secret no key decrypts: nothing is tried
        logger.error("VM #%s: a stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS.", vm.pk)
        test = ConnectionTest.failed(error, tried=False)
    else:
        test = async_to_sync(checks.connection_test)(target, settings.SSH_CONNECT_TIMEOUT)
    details = {"result": "ok", "step": None}
    if test.failure is not None:
        details = {"result": str(test.failure.kind), "step": str(test.failure.step)}
        if test.failure.offered_key is not None:
            details["offered_fingerprint"] = test.failure.offered_fingerprint
    audit_record(action=Action.VM_CONNECTION_TEST, actor=actor, target=vm, context=context, details=details)
    return test


def vm_host_key_confirm(*, vm: VirtualMachine, actor, confirmed: str, context: AuditContext | None = None) -> bool:
    """Store the host key the VM's server offers now if its fingerprint is `confirmed`, the one `actor` checked.

    True if stored now, False if the VM already had this very key. OtherKeyOffered if the server offers another
    key, ConnectError if it cannot be reached, HostKeyConflict if the VM changed meanwhile (vm_host_key_trust).
    Only the server's key is wanted: no credentials are read (so none decrypted) to fetch it.
    """
    require(VirtualMachine.objects.visible_to, actor, vm, CANNOT_CONNECT)
    _count_connection(actor)
    target = Target(host=vm.host, port=vm.port, username=vm.username)
    offered = async_to_sync(checks.offered_key)(target, settings.SSH_CONNECT_TIMEOUT)
    offered_fingerprint = fingerprint(offered)
    if offered_fingerprint != confirmed:
        message = _(
            "The server now offers the host key %(offered)s, not %(confirmed)s that you confirmed: nothing was "
            "stored. Test the connection again and check the key it shows with the server's administrator."
        )
        raise OtherKeyOffered(message % {"offered": offered_fingerprint, "confirmed": confirmed})
    return vm_host_key_trust(vm=vm, actor=actor, key=offered, offered_by=target, context=context)


def vm_host_key_trust(
    *, vm: VirtualMachine, actor, key: asyncssh.SSHKey, offered_by: Target, context: AuditContext | None = None
) -> bool:
    """Store `key`, which the server at `offered_by`'s address presented and `actor` confirmed
    (machines.services.vm_host_key_trust)."""
    return machine_services.vm_host_key_trust(
        vm=vm,
        actor=actor,
        key_line=public_key_line(key),
        fingerprint=fingerprint(key),
        algorithm=key_algorithm(key),
        host=offered_by.host,
        port=offered_by.port,
        context=context,
    )


async def terminal_connect(*, vm: VirtualMachine, target: Target, actor) -> asyncssh.SSHClientConnection:
    """A logged-in connection to `vm` (at `target`) for a terminal, kept alive while the shell idles; ConnectError if
    it fails, PermissionDenied if `actor` may no longer connect to it."""
    await database_sync_to_async(require)(VirtualMachine.objects.visible_to, actor, vm, CANNOT_CONNECT)
    await sync_to_async(_count_connection)(actor)
    return await ssh.connect(target, timeout=settings.SSH_CONNECT_TIMEOUT, keepalive_interval=30)


def terminal_session_open(*, vm: VirtualMachine, actor, context: AuditContext | None = None) -> AuditEvent:
    """The audit row of a terminal session, written as it opens (outcome "open"), so that live sessions, and those
    of a process that was killed, show in the trail."""
    details = {"started_at": timezone.now().isoformat(), "outcome": "open"}
    return audit_record(action=Action.VM_TERMINAL, actor=actor, target=vm, context=context, details=details)


def terminal_session_close(
    *, event: AuditEvent, outcome: str, bytes_in: int, bytes_out: int, host_key_fingerprint: str
) -> None:
    """Complete the session's row once it has ended: times, byte counts, how it ended and the server's host key,
    never what was typed or shown."""
    started, ended = datetime.fromisoformat(event.details["started_at"]), timezone.now()
    details = {
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat(),
        "duration_seconds": round((ended - started).total_seconds(), 1),
        "bytes_in": bytes_in,
        "bytes_out": bytes_out,
        "outcome": outcome,
        "host_key_fingerprint": host_key_fingerprint,
    }
    audit_complete(event, details)


# Files: synchronous (they query and decrypt); the SFTP work of connect.sftp runs in async_to_sync.


def vm_directory_list(*, vm: VirtualMachine, actor, path: str = "") -> sftp.Listing:
    require(VirtualMachine.objects.visible_to, actor, vm, CANNOT_CONNECT)
    _count_connection(actor)
    return async_to_sync(sftp.list_directory)(target_for(vm), path)


def vm_file_download(*, vm: VirtualMachine, actor, path: str, context: AuditContext | None = None) -> sftp.Download:
    """The file, spooled, and an audit row with its path and size (never its content)."""
    require(VirtualMachine.objects.visible_to, actor, vm, CANNOT_CONNECT)
    _count_connection(actor)
    result = async_to_sync(sftp.download)(target_for(vm), path)
    _record_transfer(Action.VM_FILE_DOWNLOAD, vm, actor, result, context)
    return result


def vm_file_upload(
    *,
    vm: VirtualMachine,
    actor,
    directory: str,
    name: str,
    source: BinaryIO,
    overwrite: bool,
    context: AuditContext | None = None,
) -> sftp.Uploaded:
    """Upload `source` as directory/name, and an audit row with its path and size (never its content)."""
    require(VirtualMachine.objects.visible_to, actor, vm, CANNOT_CONNECT)
    _count_connection(actor)
    result = async_to_sync(sftp.upload)(target_for(vm), directory, name, source, overwrite=overwrite)
    _record_transfer(Action.VM_FILE_UPLOAD, vm, actor, result, context)
    return result


def _record_transfer(action: Action, vm: VirtualMachine, actor, result, context) -> None:
    details = {"path": result.path, "size": result.size}  # never the content
    audit_record(action=action, actor=actor, target=vm, context=context, details=details)


# Live status: probe results are stored here only; "Check now" queues a probe for the task queue's worker.


def vm_reachability_store(results: list[ProbeResult]) -> None:
    """Store probe results, one row per VM (replacing the last); a VM deleted while it was probed is skipped."""
    fields = ("state", "checked_at", "latency_ms", "detail", "server_version", "offered_fingerprint")
    for attempt in range(2):
        existing = set(VirtualMachine.objects.filter(pk__in=[r.vm_id for r in results]).values_list("pk", flat=True))
        rows = [
            Reachability(
                vm_id=result.vm_id,
                state=result.state,
                checked_at=result.checked_at,
                latency_ms=result.latency_ms,
                detail=stored_detail(result.detail, Reachability._meta.get_field("detail").max_length),
                server_version=result.server_version[:255],
                offered_fingerprint=result.offered_fingerprint[:100],
            )
            for result in results
            if result.vm_id in existing
        ]
        try:
            with transaction.atomic():
                Reachability.objects.bulk_create(
                    rows, update_conflicts=True, unique_fields=["vm"], update_fields=list(fields)
                )
            return
        except IntegrityError:
            if attempt:
                raise  # a VM deleted between the two reads, twice in a row: let the task be retried


def vm_status_check_request(*, vm: VirtualMachine, actor) -> None:
    """Queue a probe of `vm` ("Check now"): the page says it is queued until the worker has stored the result.
    Never probes here: a request does not wait for a VM. The probe opens a connection, so it counts against
    SSH_CONNECT_RATE_LIMIT (TooManyConnections) like a connection test: the portal is no quick port scanner."""
    require(VirtualMachine.objects.visible_to, actor, vm, CANNOT_CONNECT)
    _count_connection(actor)
    Reachability.objects.update_or_create(vm=vm, defaults={"check_requested_at": timezone.now()})
    transaction.on_commit(lambda: async_task("connect.tasks.probe_vm", vm.pk, q_options=PROBE_TASK_OPTIONS))
