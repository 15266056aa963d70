"""Every write the connect app makes, and every file transfer, with the access rules checked here once more (as
machines.services does).

Host keys are written by machines.services (vm_host_key_trust, vm_host_key_reset), like every change to a VM.
"""

from typing import BinaryIO

import asyncssh
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from access.checks import allowed, require
from audit.context import AuditContext
from audit.models import Action
from audit.services import audit_record
from connect import sftp
from connect.models import Reachability
from connect.probes import ProbeResult
from connect.ssh import Target, fingerprint, key_algorithm, public_key_line
from connect.targets import target_for
from machines import services as machine_services
from machines.models import VirtualMachine
from vmlab.core import ratelimit

# "Check now" probes are their own group in the task queue's records, apart from the scheduled runs.
PROBE_TASK_OPTIONS = {"group": "Check now"}


def may_connect(vm_or_pk, user) -> bool:
    """Whether `user` may connect to the VM: whoever may see it (PRODUCT.md §3). Synchronous: it queries."""
    pk = getattr(vm_or_pk, "pk", vm_or_pk)
    return allowed(VirtualMachine.objects.visible_to, user, VirtualMachine(pk=pk))


def may_reset_host_key(vm: VirtualMachine, user) -> bool:
    """Whether `user` may reset the VM's stored host key in the portal: those who may edit it (owner, admins)."""
    return allowed(VirtualMachine.objects.editable_by, user, vm)


def require_connectable(vm: VirtualMachine, user) -> None:
    require(VirtualMachine.objects.visible_to, user, vm, _("You cannot connect to this VM."))


def allow_connection(user) -> bool:
    """Count one connection opened for `user` (connection test, host key check, files, terminal); False over
    SSH_CONNECT_RATE_LIMIT a minute, so that the portal cannot be used to scan hosts and ports quickly."""
    return ratelimit.allow(f"ssh-connection:{user.pk}", limit=settings.SSH_CONNECT_RATE_LIMIT)


def too_many_connections_message() -> str:
    return _("Too many connections to VMs (at most %(limit)d a minute): wait a minute and try again.") % {
        "limit": settings.SSH_CONNECT_RATE_LIMIT
    }


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


# Files: synchronous (they query and decrypt); the SFTP work of connect.sftp runs in async_to_sync.


def vm_directory_list(*, vm: VirtualMachine, actor, path: str = "") -> sftp.Listing:
    require_connectable(vm, actor)
    return async_to_sync(sftp.list_directory)(target_for(vm), path)


def vm_file_download(*, vm: VirtualMachine, actor, path: str, context: AuditContext | None = None) -> sftp.Download:
    """The file, spooled, and an audit row with its path and size (never its content)."""
    require_connectable(vm, actor)
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
    require_connectable(vm, actor)
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
                detail=result.detail[:300],
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
    Never probes here: a request does not wait for a VM."""
    require_connectable(vm, actor)
    Reachability.objects.update_or_create(vm=vm, defaults={"check_requested_at": timezone.now()})
    transaction.on_commit(lambda: async_task("connect.tasks.probe_vm", vm.pk, q_options=PROBE_TASK_OPTIONS))
