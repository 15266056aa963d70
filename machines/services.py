"""Every change to a VM, and every reveal of its secrets, with the rules of PRODUCT.md §3 checked again here.

Views check the same rules through the queryset (404 for what a user may not touch); services check them
once more so that no caller can skip them. Each records an audit event that names what changed, never a value.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from audit.models import Action
from audit.services import audit_record
from machines.models import VirtualMachine
from machines.versioning import StaleVersion

METADATA_FIELDS = ("name", "host", "port", "username", "shared")
# Where the server is: changing either makes the stored SSH host key meaningless.
HOST_KEY_ADDRESS_FIELDS = frozenset({"host", "port"})
SECRET_LABELS = {"password": gettext_lazy("password"), "ssh_key": gettext_lazy("SSH key")}


class WrongAccountPassword(PermissionDenied):
    """The password typed to confirm a reveal is not the actor's own."""


def _require_in(queryset, vm: VirtualMachine, message: str) -> None:
    if vm.pk is None or not queryset.filter(pk=vm.pk).exists():
        raise PermissionDenied(message)


def _require_editable(vm: VirtualMachine, actor: User) -> None:
    _require_in(VirtualMachine.objects.editable_by(actor), vm, _("You cannot change this VM."))


def _check_assignee(assignee: User | None) -> None:
    if assignee is not None and not assignee.can_be_assigned_vms:
        message = _("VMs are assigned to active regular or sidekick users; %(user)s is not one.")
        raise ValidationError({"assigned_to": ValidationError(message, params={"user": assignee})})


def _save_change(vm: VirtualMachine, *fields: str) -> None:
    """Save `fields` and move the version on, so that a form opened before this change is now stale."""
    vm.version = F("version") + 1
    vm.save(update_fields=[*fields, "version", "updated_at"])
    vm.refresh_from_db(fields=["version"])


def _stale(vm: VirtualMachine) -> StaleVersion:
    return StaleVersion(current=VirtualMachine.objects.without_secrets().get(pk=vm.pk))


def _validate_secret(field: str, value: str) -> None:
    try:
        VirtualMachine._meta.get_field(field).run_validators(value)
    except ValidationError as error:
        raise ValidationError({field: error.error_list}) from None


@sensitive_variables("password", "ssh_key")
@transaction.atomic
def vm_create(
    *,
    actor: User,
    name: str,
    host: str,
    port: int,
    username: str,
    shared: bool = True,
    password: str = "",
    ssh_key: str = "",
    assigned_to: User | None = None,
    request: HttpRequest | None = None,
) -> VirtualMachine:
    """A new VM owned by `actor`; managers and admins may assign it to someone at once."""
    if not actor.can_own_vms:
        raise PermissionDenied(_("Your role cannot create VMs."))
    if assigned_to is not None and not actor.can_assign_vms:
        raise PermissionDenied(_("Your role cannot assign VMs."))
    _check_assignee(assigned_to)
    vm = VirtualMachine(
        name=name,
        host=host,
        port=port,
        username=username,
        shared=shared,
        password=password or None,
        ssh_key=ssh_key or None,
        owner=actor,
        assigned_to=assigned_to,
    )
    vm.full_clean()
    vm.save()
    audit_record(
        action=Action.VM_CREATE,
        actor=actor,
        target=vm,
        request=request,
        details={
            "assigned_to": assigned_to.username if assigned_to else None,
            "shared": shared,
            "password_set": bool(password),
            "ssh_key_set": bool(ssh_key),
        },
    )
    return vm


@transaction.atomic
def vm_update(
    *,
    vm: VirtualMachine,
    actor: User,
    expected_version: int | None = None,
    request: HttpRequest | None = None,
    **changes,
) -> list[str]:
    """Change the connection details (METADATA_FIELDS only); returns the names of the fields that changed.

    Only if the VM is still at `expected_version` (by default the version `vm` was read at): otherwise
    someone changed it since, nothing is written or recorded, and StaleVersion is raised. A new host or
    port also forgets the stored SSH host key, in the same write.
    """
    _require_editable(vm, actor)
    unknown = set(changes) - set(METADATA_FIELDS)
    if unknown:
        raise ValueError(f"vm_update changes metadata only, not {sorted(unknown)}; secrets have their own services.")
    expected_version = vm.version if expected_version is None else expected_version
    # Compare with the row, not the instance: a ModelForm has already copied the new values onto it.
    stored = VirtualMachine.objects.filter(pk=vm.pk).values("version", "host_key", *changes).get()
    if stored["version"] != expected_version:
        raise _stale(vm)
    changed = sorted(name for name, value in changes.items() if stored[name] != value)
    for name, value in changes.items():
        setattr(vm, name, value)
    # Secrets are left out: validating them would decrypt them, and they do not change here.
    vm.full_clean(exclude=["password", "ssh_key"])
    if changed:
        details = {"fields": changed}
        written = changed
        if HOST_KEY_ADDRESS_FIELDS & set(changed):
            # The key was trusted for the old address: a user confirms the new server's key on the next connection.
            vm.host_key = vm.host_key_fingerprint = ""
            written = [*changed, "host_key", "host_key_fingerprint"]
            if stored["host_key"]:
                details["host_key_cleared"] = True
        _write_if_still_at(vm, expected_version, written)
        audit_record(action=Action.VM_UPDATE, actor=actor, target=vm, request=request, details=details)
    return changed


def _write_if_still_at(vm: VirtualMachine, version: int, fields: list[str]) -> None:
    """One UPDATE conditional on the version: a change committed since the check above makes it match no row."""
    values = {name: getattr(vm, name) for name in fields}
    if not VirtualMachine.objects.filter(pk=vm.pk, version=version).update_as_change(**values):
        raise _stale(vm)
    vm.refresh_from_db(fields=["version", "updated_at"])


@transaction.atomic
def vm_delete(*, vm: VirtualMachine, actor: User, request: HttpRequest | None = None) -> None:
    _require_editable(vm, actor)
    # Recorded first, while the VM still has its primary key; the row keeps the name after deletion.
    audit_record(action=Action.VM_DELETE, actor=actor, target=vm, request=request, details={"host": vm.host})
    vm.delete()


def _set_secret(vm: VirtualMachine, actor: User, field: str, value: str, request) -> None:
    _require_editable(vm, actor)
    _validate_secret(field, value)
    setattr(vm, field, value)
    _save_change(vm, field)
    audit_record(action=Action.SECRET_SET, actor=actor, target=vm, request=request, details={"field": field})


def _remove_secret(vm: VirtualMachine, actor: User, field: str, request) -> None:
    _require_editable(vm, actor)
    setattr(vm, field, None)
    _save_change(vm, field)
    audit_record(action=Action.SECRET_REMOVE, actor=actor, target=vm, request=request, details={"field": field})


@sensitive_variables("password")
@transaction.atomic
def vm_set_password(*, vm: VirtualMachine, actor: User, password: str, request: HttpRequest | None = None) -> None:
    if not password:
        raise ValidationError({"password": _("Enter a password, or remove it instead.")})
    _set_secret(vm, actor, "password", password, request)


@transaction.atomic
def vm_remove_password(*, vm: VirtualMachine, actor: User, request: HttpRequest | None = None) -> None:
    _remove_secret(vm, actor, "password", request)


@sensitive_variables("ssh_key")
@transaction.atomic
def vm_set_ssh_key(*, vm: VirtualMachine, actor: User, ssh_key: str, request: HttpRequest | None = None) -> None:
    if not ssh_key.strip():
        raise ValidationError({"ssh_key": _("Paste or upload a private key, or remove it instead.")})
    _set_secret(vm, actor, "ssh_key", ssh_key, request)


@transaction.atomic
def vm_remove_ssh_key(*, vm: VirtualMachine, actor: User, request: HttpRequest | None = None) -> None:
    _remove_secret(vm, actor, "ssh_key", request)


@transaction.atomic
def vm_set_shared(*, vm: VirtualMachine, actor: User, shared: bool, request: HttpRequest | None = None) -> None:
    _require_editable(vm, actor)
    vm.shared = shared
    _save_change(vm, "shared")
    audit_record(action=Action.VM_SHARE, actor=actor, target=vm, request=request, details={"shared": shared})


@transaction.atomic
def vm_assign(*, vm: VirtualMachine, actor: User, assignee: User | None, request: HttpRequest | None = None) -> None:
    """Assign `vm` to an active regular or sidekick user, or to nobody (`assignee=None`)."""
    _require_in(VirtualMachine.objects.assignable_by(actor), vm, _("You cannot assign this VM."))
    _check_assignee(assignee)
    vm.assigned_to = assignee
    _save_change(vm, "assigned_to")
    audit_record(
        action=Action.VM_ASSIGN,
        actor=actor,
        target=vm,
        request=request,
        details={"assigned_to": assignee.username if assignee else None},
    )


@sensitive_variables("account_password", "value")
def vm_reveal_secret(
    *, vm: VirtualMachine, actor: User, field: str, account_password: str, request: HttpRequest | None = None
) -> str:
    """The plaintext of `field` ("password" or "ssh_key") for a user who confirmed with their own password.

    A wrong password is recorded (SECRET_REVEAL_DENIED) and raises WrongAccountPassword. A token no key
    decrypts raises vmlab.crypto.DecryptionError and nothing is recorded as revealed. Not atomic on
    purpose: the record of a refused attempt must survive the exception that reports it.
    """
    if field not in SECRET_LABELS:
        raise ValueError(f"Unknown secret field {field!r}.")
    _require_in(VirtualMachine.objects.visible_to(actor), vm, _("You cannot see this VM."))
    if not actor.check_password(account_password):
        audit_record(
            action=Action.SECRET_REVEAL_DENIED, actor=actor, target=vm, request=request, details={"field": field}
        )
        raise WrongAccountPassword(_("Your password is not correct."))
    value = VirtualMachine.objects.values_list(field, flat=True).get(pk=vm.pk)
    if value is None:
        raise ValidationError(_("This VM has no %(secret)s."), params={"secret": SECRET_LABELS[field]})
    value = value.reveal()
    audit_record(action=Action.SECRET_REVEAL, actor=actor, target=vm, request=request, details={"field": field})
    return value
