"""Trusting and resetting a VM's SSH host key: the only writes to VirtualMachine.host_key.

A key is stored only after a user saw its fingerprint and confirmed it, and only while the VM has none:
a later, different key is never stored over it, it has to be reset first by the VM's owner or an admin.
"""

import asyncssh
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.roles import Role
from audit.models import Action
from audit.services import audit_record
from connect.ssh import fingerprint, key_algorithm, public_key_line
from machines.models import VirtualMachine


class HostKeyConflict(Exception):
    """Another key was stored for the VM while this one waited for confirmation."""


def trust_host_key(*, vm: VirtualMachine, actor, key: asyncssh.SSHKey, request=None) -> bool:
    """Store `key` as the VM's host key if it has none; True if stored now, False if it was already this key."""
    if not VirtualMachine.objects.visible_to(actor).filter(pk=vm.pk).exists():
        raise PermissionDenied(_("You cannot connect to this VM."))
    line, key_fingerprint = public_key_line(key), fingerprint(key)
    # Conditional on an empty column: of two users confirming at once, one stores and the other compares.
    stored = VirtualMachine.objects.filter(pk=vm.pk, host_key="").update(
        host_key=line, host_key_fingerprint=key_fingerprint
    )
    vm.host_key, vm.host_key_fingerprint = VirtualMachine.objects.values_list("host_key", "host_key_fingerprint").get(
        pk=vm.pk
    )
    if not stored:
        if vm.host_key != line:
            raise HostKeyConflict(
                _("Another host key (%(fingerprint)s) was stored for this VM in the meantime.")
                % {"fingerprint": vm.host_key_fingerprint}
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


def reset_host_key(*, vm: VirtualMachine, actor, request=None, via_admin: bool = False) -> str:
    """Forget the stored key; returns its fingerprint, "" if there was none.

    In the portal for the VMs `actor` may edit (the owner; admins for any VM they see); in the Django admin
    (`via_admin`) for any VM, as admins see every VM there to clean up (PRODUCT.md §3).
    """
    allowed = VirtualMachine.objects.all() if via_admin else VirtualMachine.objects.editable_by(actor)
    if via_admin and not actor.role_at_least(Role.ADMIN):
        allowed = VirtualMachine.objects.none()
    if not allowed.filter(pk=vm.pk).exists():
        raise PermissionDenied(_("You cannot change this VM."))
    old = VirtualMachine.objects.values_list("host_key_fingerprint", flat=True).get(pk=vm.pk)
    if not old:
        return ""
    VirtualMachine.objects.filter(pk=vm.pk).update(host_key="", host_key_fingerprint="")
    vm.host_key = vm.host_key_fingerprint = ""
    details = {"fingerprint": old, **({"via": "admin"} if via_admin else {})}
    audit_record(action=Action.VM_HOST_KEY_RESET, actor=actor, target=vm, request=request, details=details)
    return old
