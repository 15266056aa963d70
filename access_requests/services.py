"""Every change to an access request, each audited, with the rules of PRODUCT.md §3 checked here once more:
a regular user or sidekick asks; a manager grants one of their own VMs (machines.services.vm_assign, which checks
that they may assign it), an admin any VM they may assign; a denial says why. The people concerned are told by
e-mail (access_requests.mail, through the task queue).
"""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from access import rights
from access.checks import require, require_right
from access_requests.mail import notify
from access_requests.models import AccessRequest
from access_requests.querysets import requestable_vms
from accounts.models import User
from audit.context import AuditContext
from audit.models import Action
from audit.services import audit_record
from machines import services as machine_services
from machines.models import VirtualMachine
from vmlab.core.dates import utc_text

NOT_PENDING = gettext_lazy("This request was already decided or withdrawn.")


def _check_future(until: datetime.datetime) -> None:
    if until <= timezone.now():
        raise ValidationError({"until": _("Choose a moment in the future.")})


def deciders_of(request: AccessRequest) -> list[User]:
    """Who is told of a new request: for a named VM, its owner if they may assign it, and the admins; for any VM,
    every manager and admin."""
    people = get_user_model().objects.with_right(rights.ASSIGN_VMS)
    if request.vm is None:
        return list(people)
    return list(people.filter(pk=request.vm.owner_id) | people.with_right(rights.ADMINISTER))


@transaction.atomic
def request_create(
    *,
    requester: User,
    purpose: str,
    until: datetime.datetime,
    vm: VirtualMachine | None = None,
    context: AuditContext | None = None,
) -> AccessRequest:
    """Ask for a VM until `until`, optionally a particular shared VM (one of requestable_vms())."""
    require_right(rights.REQUEST_VMS, requester, _("Your role cannot request VMs."))
    _check_future(until)
    if vm is not None and not requestable_vms().filter(pk=vm.pk).exists():
        raise ValidationError({"vm": _("This VM cannot be requested: choose a shared VM from the list, or none.")})
    request = AccessRequest.objects.create(
        kind=AccessRequest.Kind.VM, requester=requester, purpose=purpose.strip(), until=until, vm=vm
    )
    details = {"until": utc_text(until), "vm": vm.name if vm else None}
    audit_record(action=Action.REQUEST_CREATE, actor=requester, target=request, context=context, details=details)
    notify(deciders_of(request), "request_created", {"request": request})
    return request


@transaction.atomic
def request_extension(
    *,
    requester: User,
    vm: VirtualMachine,
    until: datetime.datetime,
    purpose: str,
    context: AuditContext | None = None,
) -> AccessRequest:
    """Ask for the assignment of `vm`, which the requester has now, to end later: at `until`."""
    require_right(rights.REQUEST_VMS, requester, _("Your role cannot request VMs."))
    current = VirtualMachine.objects.assigned_to_user(requester).filter(pk=vm.pk).values("assigned_until").first()
    if current is None:
        raise PermissionDenied(_("“%(name)s” is not assigned to you.") % {"name": vm.name})
    if current["assigned_until"] is None:
        raise ValidationError(_("Your assignment of “%(name)s” has no end: nothing to extend.") % {"name": vm.name})
    if until <= current["assigned_until"]:
        raise ValidationError({"until": _("Choose a moment after the current end of your assignment.")})
    if AccessRequest.objects.withdrawable_by(requester).filter(kind=AccessRequest.Kind.EXTENSION, vm=vm).exists():
        raise ValidationError(
            _("You already asked for more time on “%(name)s”: wait for the answer.") % {"name": vm.name}
        )
    request = AccessRequest.objects.create(
        kind=AccessRequest.Kind.EXTENSION, requester=requester, purpose=purpose.strip(), until=until, vm=vm
    )
    details = {"vm": vm.name, "until": utc_text(until), "current_until": utc_text(current["assigned_until"])}
    audit_record(action=Action.REQUEST_EXTEND, actor=requester, target=request, context=context, details=details)
    notify(
        deciders_of(request), "extension_requested", {"request": request, "current_until": current["assigned_until"]}
    )
    return request


def _locked_pending(request: AccessRequest, actor: User) -> AccessRequest:
    """The request read again under a lock, if `actor` may decide it and it still waits: two managers deciding
    at once cannot both act."""
    require(AccessRequest.objects.decidable_by, actor, request, _("You cannot decide this request."))
    locked = AccessRequest.objects.select_for_update().get(pk=request.pk)
    if not locked.is_pending:
        raise ValidationError(NOT_PENDING)
    return locked


def _decided(request: AccessRequest, actor: User, state: str, reason: str, **granted) -> None:
    request.state = state
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.reason = reason.strip()
    for name, value in granted.items():
        setattr(request, name, value)
    request.save(update_fields=["state", "decided_by", "decided_at", "reason", *granted])


@transaction.atomic
def request_approve(
    *,
    request: AccessRequest,
    actor: User,
    until: datetime.datetime,
    vm: VirtualMachine | None = None,
    note: str = "",
    context: AuditContext | None = None,
) -> AccessRequest:
    """Grant the request: for a VM, assign `vm` (one `actor` may assign) to the requester until `until`; for more
    time, move the end of the requester's assignment to `until`."""
    locked = _locked_pending(request, actor)
    _check_future(until)
    if locked.kind == AccessRequest.Kind.EXTENSION:
        vm = locked.vm
        if not VirtualMachine.objects.assigned_to_user(locked.requester).filter(pk=vm.pk).exists():
            raise ValidationError(
                _("“%(name)s” is no longer assigned to the requester: nothing to extend.") % {"name": vm.name}
            )
        machine_services.vm_assignment_extend(vm=vm, actor=actor, until=until, context=context)
    else:
        if vm is None:
            raise ValidationError({"vm": _("Choose the VM to assign.")})
        try:
            machine_services.vm_assign(vm=vm, actor=actor, assignee=locked.requester, until=until, context=context)
        except PermissionDenied:
            raise ValidationError({"vm": _("You can only assign VMs of your own.")}) from None
    _decided(locked, actor, AccessRequest.State.APPROVED, note, granted_vm=vm, granted_until=until)
    details = {"vm": vm.name, "until": utc_text(until), "requester": locked.requester.username}
    audit_record(action=Action.REQUEST_APPROVE, actor=actor, target=locked, context=context, details=details)
    notify([locked.requester], "request_approved", {"request": locked})
    request.refresh_from_db()
    return locked


@transaction.atomic
def request_deny(
    *, request: AccessRequest, actor: User, reason: str, context: AuditContext | None = None
) -> AccessRequest:
    """Refuse the request, saying why: the requester reads the reason in the e-mail and on their dashboard."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the request is denied: the requester will read it.")})
    locked = _locked_pending(request, actor)
    _decided(locked, actor, AccessRequest.State.DENIED, reason)
    details = {"requester": locked.requester.username}
    audit_record(action=Action.REQUEST_DENY, actor=actor, target=locked, context=context, details=details)
    notify([locked.requester], "request_denied", {"request": locked})
    request.refresh_from_db()
    return locked


@transaction.atomic
def request_withdraw(*, request: AccessRequest, actor: User, context: AuditContext | None = None) -> None:
    """The requester takes back a request still waiting for a decision."""
    require(AccessRequest.objects.withdrawable_by, actor, request, _("You cannot withdraw this request."))
    locked = AccessRequest.objects.select_for_update().get(pk=request.pk)
    if not locked.is_pending:
        raise ValidationError(NOT_PENDING)
    locked.state = AccessRequest.State.WITHDRAWN
    locked.save(update_fields=["state"])
    audit_record(action=Action.REQUEST_CANCEL, actor=actor, target=locked, context=context)
    request.refresh_from_db()
