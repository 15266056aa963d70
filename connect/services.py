"""Every write the connect app makes, and every file transfer, with the access rules checked here once more (as
machines.services does).

Host keys: a key is stored only after a user saw its fingerprint and confirmed it, only while the VM has none,
and only while the VM still points at the address the key came from: a later, different key is never stored
over it, it has to be reset first by the VM's owner or an admin.
"""

from typing import BinaryIO

import asyncssh
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.roles import Role
from audit.models import Action
from audit.services import audit_record
from connect import sftp
from connect.ssh import Target, fingerprint, key_algorithm, public_key_line
from connect.targets import target_for
from machines.models import VirtualMachine
from vmlab import ratelimit


class HostKeyConflict(Exception):
    """The VM got another key, or another address, while this key waited for confirmation."""


def may_connect(vm_or_pk, user) -> bool:
    """Whether `user` may connect to the VM: whoever may see it (PRODUCT.md §3). Synchronous: it queries."""
    pk = getattr(vm_or_pk, "pk", vm_or_pk)
    return VirtualMachine.objects.visible_to(user).filter(pk=pk).exists()


def may_reset_host_key(vm: VirtualMachine, user) -> bool:
    """Whether `user` may reset the VM's stored host key in the portal: those who may edit it (owner, admins)."""
    return VirtualMachine.objects.editable_by(user).filter(pk=vm.pk).exists()


def require_connectable(vm: VirtualMachine, user) -> None:
    if not may_connect(vm, user):
        raise PermissionDenied(_("You cannot connect to this VM."))


def allow_connection(user) -> bool:
    """Count one connection opened for `user` (connection test, host key check, files, terminal); False over
    SSH_CONNECT_RATE_LIMIT a minute, so that the portal cannot be used to scan hosts and ports quickly."""
    return ratelimit.allow(f"ssh-connection:{user.pk}", limit=settings.SSH_CONNECT_RATE_LIMIT)


def too_many_connections_message() -> str:
    return _("Too many connections to VMs (at most %(limit)d a minute): wait a minute and try again.") % {
        "limit": settings.SSH_CONNECT_RATE_LIMIT
    }


@transaction.atomic
def vm_host_key_trust(*, vm: VirtualMachine, actor, key: asyncssh.SSHKey, offered_by: Target, request=None) -> bool:
    """Store `key`, which the server at `offered_by`'s address presented and `actor` confirmed.

    True if stored now, False if the VM already had this very key; HostKeyConflict if it has another key or
    has moved to another host or port since (the key belongs to the old address).
    """
    require_connectable(vm, actor)
    line, key_fingerprint = public_key_line(key), fingerprint(key)
    address = {"host": offered_by.host, "port": offered_by.port}
    # One conditional UPDATE: of two users confirming at once, one stores and the other compares.
    stored = VirtualMachine.objects.filter(pk=vm.pk, host_key="", **address).update(
        host_key=line, host_key_fingerprint=key_fingerprint
    )
    current = VirtualMachine.objects.values("host", "port", "host_key", "host_key_fingerprint").get(pk=vm.pk)
    vm.host_key, vm.host_key_fingerprint = current["host_key"], current["host_key_fingerprint"]
    if not stored:
        if (current["host"], current["port"]) != (offered_by.host, offered_by.port):
            raise HostKeyConflict(_("The VM's host or port changed in the meantime: connect again to see its key."))
        if current["host_key"] != line:
            raise HostKeyConflict(
                _("Another host key (%(fingerprint)s) was stored for this VM in the meantime.")
                % {"fingerprint": current["host_key_fingerprint"]}
            )
        return False
    audit_record(
        action=Action.VM_HOST_KEY_TRUST,
        actor=actor,
        target=vm,
        request=request,
        details={"fingerprint": key_fingerprint, "algorithm": key_algorithm(key)},
    )
    return True


@transaction.atomic
def vm_host_key_reset(*, vm: VirtualMachine, actor, request=None, via_admin: bool = False) -> str:
    """Forget the stored key; returns its fingerprint, "" if there was none.

    In the portal for the VMs `actor` may edit (the owner; admins for any VM they see); in the Django admin
    (`via_admin`) admins may reset any VM, as they see every VM there to clean up (PRODUCT.md §3).
    """
    allowed = actor.role_at_least(Role.ADMIN) if via_admin else may_reset_host_key(vm, actor)
    if not allowed:
        raise PermissionDenied(_("You cannot change this VM."))
    old = VirtualMachine.objects.select_for_update().values_list("host_key_fingerprint", flat=True).get(pk=vm.pk)
    if not old:
        return ""
    VirtualMachine.objects.filter(pk=vm.pk).update(host_key="", host_key_fingerprint="")
    vm.host_key = vm.host_key_fingerprint = ""
    details = {"fingerprint": old, **({"via": "admin"} if via_admin else {})}
    audit_record(action=Action.VM_HOST_KEY_RESET, actor=actor, target=vm, request=request, details=details)
    return old


# Files: synchronous (they query and decrypt); the SFTP work of connect.sftp runs in async_to_sync.


def vm_directory_list(*, vm: VirtualMachine, actor, path: str = "") -> sftp.Listing:
    require_connectable(vm, actor)
    return async_to_sync(sftp.list_directory)(target_for(vm), path)


def vm_file_download(*, vm: VirtualMachine, actor, path: str, request=None) -> sftp.Download:
    """The file, spooled, and an audit row with its path and size (never its content)."""
    require_connectable(vm, actor)
    result = async_to_sync(sftp.download)(target_for(vm), path)
    _record_transfer(Action.VM_FILE_DOWNLOAD, vm, actor, result, request)
    return result


def vm_file_upload(
    *, vm: VirtualMachine, actor, directory: str, name: str, source: BinaryIO, overwrite: bool, request=None
) -> sftp.Uploaded:
    """Upload `source` as directory/name, and an audit row with its path and size (never its content)."""
    require_connectable(vm, actor)
    result = async_to_sync(sftp.upload)(target_for(vm), directory, name, source, overwrite=overwrite)
    _record_transfer(Action.VM_FILE_UPLOAD, vm, actor, result, request)
    return result


def _record_transfer(action: Action, vm: VirtualMachine, actor, result, request) -> None:
    details = {"path": result.path, "size": result.size}  # never the content
    audit_record(action=action, actor=actor, target=vm, request=request, details=details)
