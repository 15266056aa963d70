"""Every change to a VM, and every reveal of its secrets, with the rules of PRODUCT.md §3 checked again here.

Secrets pass through these functions in plain text: each of them hides every local variable from Django's error
reports (sensitive_variables), so a crash mid-save cannot mail a password to the admins.

Views fetch VMs through the queryset verbs (404 for what a user may not touch); the services check the same verbs
once more (access.checks.require), so that no caller can skip them: the portal, the Django admin (`context.via`
"admin", where admins may change any VM), commands and the terminal alike. Each change is one UPDATE that moves the
VM's version on (_write), and records audit events that name what changed, never a value.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from access import rights
from access.checks import require, require_right
from accounts.identity import IdentityRefused, confirm_identity
from accounts.models import User
from audit.context import AuditContext
from audit.models import Action
from audit.services import audit_record, audit_record_many
from machines.models import Assignment, VirtualMachine
from machines.querysets import SECRET_FIELDS
from machines.versioning import StaleVersion
from vmlab.core.dates import utc_text

METADATA_FIELDS = ("name", "host", "port", "username", "shared")
CREATE_BATCH_SIZE = 500
PEOPLE_FIELDS = ("owner", "assigned_to")
# The assignment is assigned_to until assigned_until (none: no end); machines.models.Assignment keeps its history.
ASSIGNMENT_FIELDS = ("assigned_to", "assigned_until")
# Who ends assignments on their date, in the audit trail: no person, the task queue's hourly job.
SCHEDULED_JOB = "scheduled job"
# Where the server is: changing either makes the stored SSH host key meaningless.
HOST_KEY_ADDRESS_FIELDS = frozenset({"host", "port"})
HOST_KEY_FORGOTTEN = {"host_key": "", "host_key_fingerprint": ""}
SECRET_LABELS = {"password": gettext_lazy("password"), "ssh_key": gettext_lazy("SSH key")}
# Whole sentences: the secret's name takes a different form inside one in other languages.
NO_SECRET = {"password": gettext_lazy("This VM has no password."), "ssh_key": gettext_lazy("This VM has no SSH key.")}
CANNOT_CHANGE = gettext_lazy("You cannot change this VM.")


class HostKeyConflict(Exception):
    """The VM got another host key, or another address, while this key waited for confirmation."""


def _changeable(context: AuditContext | None):
    """The verb for changing a VM: the portal's editable_by, or in the Django admin administrable_by."""
    if context is not None and context.is_admin:
        return VirtualMachine.objects.administrable_by
    return VirtualMachine.objects.editable_by


def _assignable(context: AuditContext | None):
    if context is not None and context.is_admin:
        return VirtualMachine.objects.administrable_by
    return VirtualMachine.objects.assignable_by


def check_owner(owner: User) -> None:
    """ValidationError on `owner` unless they may own VMs (forms call it too, to say so on the field)."""
    if not rights.OWN_VMS.granted_to(owner):
        message = _("%(user)s cannot own VMs: owners are active sidekicks, managers or admins.")
        raise ValidationError({"owner": ValidationError(message, params={"user": owner})})


def check_assignee(assignee: User | None) -> None:
    """ValidationError on `assigned_to` unless VMs may be assigned to `assignee` (forms call it too)."""
    if assignee is not None and not rights.BE_ASSIGNED_VMS.granted_to(assignee):
        message = _("VMs are assigned to active regular or sidekick users; %(user)s is not one.")
        raise ValidationError({"assigned_to": ValidationError(message, params={"user": assignee})})


def check_assignment_end(until: datetime.datetime | None) -> None:
    """ValidationError on `assigned_until` unless it is in the future (or none: no end). Forms call it too."""
    if until is not None and until <= timezone.now():
        message = _("The end of the assignment must be in the future.")
        raise ValidationError({"assigned_until": ValidationError(message)})


@sensitive_variables()
def _validate_secret(field: str, value: str) -> None:
    try:
        VirtualMachine._meta.get_field(field).run_validators(value)
    except ValidationError as error:
        raise ValidationError({field: error.error_list}) from None


def _stale(vm: VirtualMachine) -> StaleVersion:
    return StaleVersion(current=VirtualMachine.objects.without_secrets().get(pk=vm.pk))


@sensitive_variables()
def _write(vm: VirtualMachine, values: dict, *, version: int | None) -> None:
    """The one UPDATE of a change people make: moves the version on, so that a form opened before it is now stale.

    With `version`, only if the VM is still at it: a change committed since the caller read it makes it match no row,
    and StaleVersion is raised.
    """
    rows = VirtualMachine.objects.filter(pk=vm.pk)
    if not (rows.filter(version=version) if version is not None else rows).update_as_change(**values):
        if version is not None and rows.exists():
            raise _stale(vm)
        raise VirtualMachine.DoesNotExist("The VM was deleted.")
    for name, value in values.items():
        setattr(vm, name, value)
    vm.refresh_from_db(fields=["version", "updated_at"])


@sensitive_variables()
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
    assigned_until: datetime.datetime | None = None,
    owner: User | None = None,
    context: AuditContext | None = None,
) -> VirtualMachine:
    """A new VM owned by `actor` (admins may give another `owner`); managers and admins may assign it at once,
    until `assigned_until` if given."""
    vm = _new_vm(
        actor=actor,
        name=name,
        host=host,
        port=port,
        username=username,
        shared=shared,
        password=password,
        ssh_key=ssh_key,
        assigned_to=assigned_to,
        assigned_until=assigned_until,
        owner=owner,
    )
    vm.full_clean()
    vm.save()
    _open_assignments([vm], actor)
    audit_record(action=Action.VM_CREATE, actor=actor, target=vm, context=context, details=_created(vm))
    return vm


@sensitive_variables()
@transaction.atomic
def vms_create_many(*, actor: User, vms: list[dict], context: AuditContext | None = None) -> list[VirtualMachine]:
    """New VMs, each with vm_create's arguments (`vms`), rights, validation and audit row, in a few statements: an
    import creates thousands, which one INSERT of the VM, one of its audit row and one query to validate its owner
    each would make many times slower (bench/import_vms.py).

    The owner and assignee are checked by their rights, as vm_create does; full_clean() leaves out only the query
    that checks each of them exists, which the objects given (loaded users) already show.
    """
    new = []
    for values in vms:
        vm = _new_vm(actor=actor, **values)
        vm.full_clean(exclude=list(PEOPLE_FIELDS))
        new.append(vm)
    VirtualMachine.objects.bulk_create(new, batch_size=CREATE_BATCH_SIZE)
    _open_assignments(new, actor)
    audit_record_many(action=Action.VM_CREATE, actor=actor, context=context, targets=[(vm, _created(vm)) for vm in new])
    return new


@sensitive_variables()
def _new_vm(
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
    assigned_until: datetime.datetime | None = None,
    owner: User | None = None,
) -> VirtualMachine:
    """The unsaved VM that `actor` may create: vm_create's rights."""
    require_right(rights.OWN_VMS, actor, _("Your role cannot create VMs."))
    owner = owner or actor
    if owner != actor:
        require_right(rights.ADMINISTER, actor, _("Only admins create VMs for someone else."))
        check_owner(owner)
    if assigned_to is not None:
        require_right(rights.ASSIGN_VMS, actor, _("Your role cannot assign VMs."))
    check_assignee(assigned_to)
    if assigned_to is None:
        assigned_until = None
    check_assignment_end(assigned_until)
    return VirtualMachine(
        name=name,
        host=host,
        port=port,
        username=username,
        shared=shared,
        password=password or None,
        ssh_key=ssh_key or None,
        owner=owner,
        assigned_to=assigned_to,
        assigned_until=assigned_until,
    )


def _open_assignments(vms: list[VirtualMachine], actor: User) -> None:
    """The history rows (Assignment) of the new VMs that are given to someone from the start."""
    rows = [
        Assignment(vm=vm, user=vm.assigned_to, assigned_by=actor, until=vm.assigned_until)
        for vm in vms
        if vm.assigned_to_id is not None
    ]
    Assignment.objects.bulk_create(rows)


def _created(vm: VirtualMachine) -> dict:
    """The audit details of a new VM (whose secrets are still plaintext on the instance, not yet read back)."""
    return {
        "assigned_to": vm.assigned_to.username if vm.assigned_to else None,
        **({"assigned_until": utc_text(vm.assigned_until)} if vm.assigned_to else {}),
        "shared": vm.shared,
        "password_set": bool(vm.password),
        "ssh_key_set": bool(vm.ssh_key),
    }


@sensitive_variables()
@transaction.atomic
def vm_update(
    *,
    vm: VirtualMachine,
    actor: User,
    expected_version: int | None = None,
    context: AuditContext | None = None,
    **changes,
) -> list[str]:
    """Change the VM; returns the names of the fields that changed.

    `changes` may name METADATA_FIELDS, `owner` (admins), `assigned_to` and `assigned_until` (who may assign; a new
    assignee without an end has none) and the secrets (`password`, `ssh_key`: text sets a new value, None removes
    it). Only if the VM is still at `expected_version`
    (by default the version `vm` was read at): otherwise someone changed it since, nothing is written or recorded,
    and StaleVersion is raised. A new host or port also forgets the stored SSH host key, in the same write.
    """
    return _change(vm, actor, context, vm.version if expected_version is None else expected_version, changes)


@sensitive_variables()
def _change(vm: VirtualMachine, actor: User, context: AuditContext | None, version: int | None, changes: dict):
    unknown = set(changes) - {*METADATA_FIELDS, *PEOPLE_FIELDS, *ASSIGNMENT_FIELDS, *SECRET_FIELDS}
    if unknown:
        raise ValueError(f"A VM has no fields {sorted(unknown)} to change.")
    require(_changeable(context), actor, vm, CANNOT_CHANGE)
    plain = [name for name in changes if name not in SECRET_FIELDS]
    # Compare with the row, not the instance: a ModelForm has already copied the new values onto it. Whether the
    # stored assignment is over is asked of the database's clock, as visible_to does.
    stored = (
        VirtualMachine.objects.filter(pk=vm.pk)
        .annotate(assignment_over=Q(assigned_until__lte=Now()))
        .values("version", "host_key", "assigned_to", "assigned_until", "assignment_over", *plain)
        .get()
    )
    if version is not None and stored["version"] != version:
        raise _stale(vm)
    if (
        "assigned_to" in changes
        and "assigned_until" not in changes
        and _id(changes["assigned_to"]) != (stored["assigned_to"])
    ):
        changes = {**changes, "assigned_until": None}  # a new assignee: no end unless one is given
        plain.append("assigned_until")
    # values() gives a foreign key's id under the field's name.
    compared = {name: _id(changes[name]) if name in PEOPLE_FIELDS else changes[name] for name in plain}
    changed = sorted(name for name in plain if compared[name] != stored[name])
    if "owner" in changed:
        require(VirtualMachine.objects.administrable_by, actor, vm, _("Only admins give a VM to another owner."))
        check_owner(changes["owner"])
    if {"assigned_to", "assigned_until"} & set(changed):
        require(_assignable(context), actor, vm, _("You cannot assign this VM."))
        if "assigned_to" in changed:
            check_assignee(changes["assigned_to"])
        assignee_id = compared.get("assigned_to", stored["assigned_to"])
        if assignee_id is None and changes.get("assigned_until") is not None:
            raise ValidationError({"assigned_until": _("Choose someone to assign the VM to, or no end.")})
        if "assigned_until" in changed:
            check_assignment_end(changes["assigned_until"])
    secrets = {name: changes[name] for name in SECRET_FIELDS if name in changes}
    for name, value in secrets.items():
        if value is not None:
            _validate_secret(name, value)
    values = {name: changes[name] for name in changed} | secrets
    if not values:
        return []
    for name, value in values.items():
        setattr(vm, name, value)
    # Only what changes: a VM saved before a validator was tightened can still be shared or given a secret, and
    # secrets are checked above instead (validating them here would decrypt the stored ones).
    vm.full_clean(exclude=[field.name for field in VirtualMachine._meta.fields if field.name not in changed])
    host_key_cleared = bool(HOST_KEY_ADDRESS_FIELDS & set(changed)) and bool(stored["host_key"])
    if HOST_KEY_ADDRESS_FIELDS & set(changed):
        # The key was trusted for the old address: a user confirms the new server's key on the next connection.
        values |= HOST_KEY_FORGOTTEN
    _write(vm, values, version=version)
    assignment = _record_assignment(vm, actor, stored, changed) if set(ASSIGNMENT_FIELDS) & set(changed) else None
    _record_change(vm, actor, context, changed, secrets, host_key_cleared=host_key_cleared, assignment=assignment)
    return [*changed, *sorted(secrets)]


def _id(user: User | None) -> int | None:
    return getattr(user, "pk", None)


def _record_assignment(vm: VirtualMachine, actor: User, stored: dict, changed: list[str]) -> tuple[Action, dict]:
    """Bring the history (Assignment) in line with the VM's new assignment; returns the audit action and details.

    An assignment whose end had passed is closed as EXPIRED first: giving the VM again, even to the same person,
    starts a new one. A new end for the running assignee changes the open row's end (an extension).
    """
    now = timezone.now()
    open_rows = Assignment.objects.filter(vm=vm, ended_at__isnull=True)
    running_id = stored["assigned_to"]
    if running_id is not None and stored["assignment_over"]:
        open_rows.update(ended_at=stored["assigned_until"], end=Assignment.End.EXPIRED)
        running_id = None
    details = {"assigned_to": vm.assigned_to.username if vm.assigned_to else None}
    if vm.assigned_until is not None:
        details["until"] = utc_text(vm.assigned_until)
    if running_id is not None and running_id == vm.assigned_to_id:
        open_rows.update(until=vm.assigned_until)
        return Action.VM_ASSIGNMENT_CHANGE, {
            **details,
            "until": utc_text(vm.assigned_until),
            "previous_until": utc_text(stored["assigned_until"]),
        }
    if running_id is not None:
        end = Assignment.End.REPLACED if vm.assigned_to_id else Assignment.End.UNASSIGNED
        open_rows.update(ended_at=now, end=end)
    if vm.assigned_to_id is not None:
        Assignment.objects.create(
            vm=vm, user_id=vm.assigned_to_id, assigned_by=actor, started_at=now, until=vm.assigned_until
        )
    return Action.VM_ASSIGN, details


def _record_change(
    vm, actor, context, changed: list[str], secrets: dict, *, host_key_cleared: bool, assignment: tuple | None
) -> None:
    """One row per kind of change, as the portal's pages make them: edited fields, sharing, assignment, secrets."""

    def record(action, **details):
        audit_record(action=action, actor=actor, target=vm, context=context, details=details)

    edited = [name for name in changed if name not in ("shared", *ASSIGNMENT_FIELDS)]
    if edited:
        record(Action.VM_UPDATE, fields=edited, **({"host_key_cleared": True} if host_key_cleared else {}))
    if "shared" in changed:
        record(Action.VM_SHARE, shared=vm.shared)
    if assignment is not None:
        action, details = assignment
        record(action, **details)
    for name, value in sorted(secrets.items()):
        record(Action.SECRET_REMOVE if value is None else Action.SECRET_SET, field=name)


@transaction.atomic
def vm_delete(*, vm: VirtualMachine, actor: User, context: AuditContext | None = None) -> None:
    require(_changeable(context), actor, vm, CANNOT_CHANGE)
    # Recorded first, while the VM still has its primary key; the row keeps the name after deletion.
    audit_record(action=Action.VM_DELETE, actor=actor, target=vm, context=context, details={"host": vm.host})
    vm.delete()


@sensitive_variables()
@transaction.atomic
def vm_set_password(*, vm: VirtualMachine, actor: User, password: str, context: AuditContext | None = None) -> None:
    if not password:
        raise ValidationError({"password": _("Enter a password, or remove it instead.")})
    _change(vm, actor, context, None, {"password": password})


@transaction.atomic
def vm_remove_password(*, vm: VirtualMachine, actor: User, context: AuditContext | None = None) -> None:
    _change(vm, actor, context, None, {"password": None})


@sensitive_variables()
@transaction.atomic
def vm_set_ssh_key(*, vm: VirtualMachine, actor: User, ssh_key: str, context: AuditContext | None = None) -> None:
    if not ssh_key.strip():
        raise ValidationError({"ssh_key": _("Paste or upload a private key, or remove it instead.")})
    _change(vm, actor, context, None, {"ssh_key": ssh_key})


@transaction.atomic
def vm_remove_ssh_key(*, vm: VirtualMachine, actor: User, context: AuditContext | None = None) -> None:
    _change(vm, actor, context, None, {"ssh_key": None})


@transaction.atomic
def vm_set_shared(*, vm: VirtualMachine, actor: User, shared: bool, context: AuditContext | None = None) -> None:
    _change(vm, actor, context, None, {"shared": shared})


@transaction.atomic
def vm_assign(
    *,
    vm: VirtualMachine,
    actor: User,
    assignee: User | None,
    until: datetime.datetime | None = None,
    context: AuditContext | None = None,
) -> list[str]:
    """Assign `vm` to an active regular or sidekick user until `until` (none: no end), or to nobody
    (`assignee=None`). The assignment it replaces stays in the history. Returns the fields that changed."""
    require(_assignable(context), actor, vm, _("You cannot assign this VM."))
    return _change(vm, actor, context, None, {"assigned_to": assignee, "assigned_until": until if assignee else None})


@transaction.atomic
def vm_assignment_extend(
    *, vm: VirtualMachine, actor: User, until: datetime.datetime | None, context: AuditContext | None = None
) -> None:
    """Move the end of the running assignment of `vm` to `until` (none: no end), for who may assign the VM."""
    require(_assignable(context), actor, vm, _("You cannot assign this VM."))
    if not VirtualMachine.objects.currently_assigned().filter(pk=vm.pk).exists():
        raise ValidationError(_("“%(name)s” is not assigned to anyone any more: assign it again.") % {"name": vm.name})
    _change(vm, actor, context, None, {"assigned_until": until})


def vm_assignments_close_expired() -> int:
    """Close the assignments whose end has passed (the hourly job): the VM is no longer marked as assigned, the
    history row ends on its date. Access never waited for this: every verb compares the end itself. Returns how
    many were closed."""
    closed = 0
    for pk in VirtualMachine.objects.assignment_ended().values_list("pk", flat=True):
        with transaction.atomic():
            # Read again under a lock: an assignment made since the list was read is left alone.
            vm = VirtualMachine.objects.without_secrets().select_for_update().assignment_ended().filter(pk=pk).first()
            if vm is None:
                continue
            ended = {"assigned_to": vm.assigned_to.username, "until": utc_text(vm.assigned_until)}
            Assignment.objects.filter(vm=vm, ended_at__isnull=True).update(
                ended_at=vm.assigned_until, end=Assignment.End.EXPIRED
            )
            _write(vm, {"assigned_to": None, "assigned_until": None}, version=None)
            audit_record(action=Action.VM_ASSIGNMENT_END, target=vm, details=ended, operator=SCHEDULED_JOB)
            closed += 1
    return closed


def vms_share_all_owned_by(*, owner: User) -> int:
    """Share every private VM of `owner` (who is being disabled: people.services.user_disable records it), so
    that the lab keeps access to them. Returns how many became shared."""
    return VirtualMachine.objects.owned_by(owner).filter(shared=False).update_as_change(shared=True)


@sensitive_variables()
def vm_reveal_secret(
    *,
    vm: VirtualMachine,
    actor: User,
    field: str,
    account_password: str,
    otp_token: str = "",
    passkey_confirmed: bool = False,
    context: AuditContext | None = None,
) -> str:
    """The plaintext of `field` ("password" or "ssh_key") for a user who confirmed who they are
    (accounts.identity.confirm_identity: their password, and a code, or a passkey the portal has just checked,
    when they have a second factor).

    A refusal is recorded (SECRET_REVEAL_DENIED, with its reason) and raises accounts.identity.IdentityRefused,
    whose `reason` says what was wrong; the caller counts it with accounts.lockout.count_refused_identity. A token
    no key decrypts raises vmlab.core.crypto.DecryptionError and nothing is recorded as revealed. Not atomic on
    purpose: the record of a refused attempt must survive the exception that reports it.
    """
    if field not in SECRET_LABELS:
        raise ValueError(f"Unknown secret field {field!r}.")
    require(VirtualMachine.objects.visible_to, actor, vm, _("You cannot see this VM."))
    try:
        confirm_identity(
            user=actor,
            password=account_password,
            otp_token=otp_token,
            passkey_confirmed=passkey_confirmed,
            context=context,
        )
    except IdentityRefused as refusal:
        audit_record(
            action=Action.SECRET_REVEAL_DENIED,
            actor=actor,
            target=vm,
            context=context,
            details={"field": field, "reason": refusal.reason},
        )
        raise
    value = VirtualMachine.objects.values_list(field, flat=True).get(pk=vm.pk)
    if value is None:
        raise ValidationError(NO_SECRET[field])
    value = value.reveal()
    audit_record(action=Action.SECRET_REVEAL, actor=actor, target=vm, context=context, details={"field": field})
    return value


# Host keys: stored only after a user saw the fingerprint and confirmed it (connect.services), only while the VM has
# none and still points at the address the key came from; forgotten by its owner or an admin. Neither is a change
# to what the VM's forms show, so neither moves the version on.


@transaction.atomic
def vm_host_key_trust(
    *,
    vm: VirtualMachine,
    actor: User,
    key_line: str,
    fingerprint: str,
    algorithm: str,
    host: str,
    port: int,
    context: AuditContext | None = None,
) -> bool:
    """Store the host key `key_line`, which the server at host:port presented and `actor` confirmed.

    True if stored now, False if the VM already had this very key; HostKeyConflict if it has another key or has
    moved to another host or port since (the key belongs to the old address).
    """
    require(VirtualMachine.objects.visible_to, actor, vm, _("You cannot connect to this VM."))
    # One conditional UPDATE: of two users confirming at once, one stores and the other compares.
    stored = VirtualMachine.objects.filter(pk=vm.pk, host_key="", host=host, port=port).update(
        host_key=key_line, host_key_fingerprint=fingerprint
    )
    current = VirtualMachine.objects.values("host", "port", "host_key", "host_key_fingerprint").get(pk=vm.pk)
    vm.host_key, vm.host_key_fingerprint = current["host_key"], current["host_key_fingerprint"]
    if not stored:
        if (current["host"], current["port"]) != (host, port):
            raise HostKeyConflict(_("The VM's host or port changed in the meantime: connect again to see its key."))
        if current["host_key"] != key_line:
            raise HostKeyConflict(
                _("Another host key (%(fingerprint)s) was stored for this VM in the meantime.")
                % {"fingerprint": current["host_key_fingerprint"]}
            )
        return False
    details = {"fingerprint": fingerprint, "algorithm": algorithm}
    audit_record(action=Action.VM_HOST_KEY_TRUST, actor=actor, target=vm, context=context, details=details)
    return True


@transaction.atomic
def vm_host_key_reset(*, vm: VirtualMachine, actor: User, context: AuditContext | None = None) -> str:
    """Forget the stored host key; returns its fingerprint, "" if there was none.

    For those who may change the VM: its owner, admins for any VM they see, and in the Django admin any VM.
    """
    require(_changeable(context), actor, vm, CANNOT_CHANGE)
    old = VirtualMachine.objects.select_for_update().values_list("host_key_fingerprint", flat=True).get(pk=vm.pk)
    if not old:
        return ""
    VirtualMachine.objects.filter(pk=vm.pk).update(**HOST_KEY_FORGOTTEN)
    vm.host_key = vm.host_key_fingerprint = ""
    audit_record(action=Action.VM_HOST_KEY_RESET, actor=actor, target=vm, context=context, details={"fingerprint": old})
    return old
