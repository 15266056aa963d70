"""What managers and admins do to other people's accounts (PRODUCT.md §3): approve, deny, change a role, disable,
enable, delete. Each checks its rule through the User queryset verbs, and records itself in the audit trail.

This app sits above accounts, machines and bookmarks, so it is where a change to an account meets the person's
VMs and bookmarks: disabling shares their VMs (machines.services.vms_share_all_owned_by) so that the lab keeps
access to them, and deleting takes their VMs and bookmarks with them.
"""

import datetime
import logging
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.checks import allowed, require
from access.rights import grantable_roles
from access.roles import Role
from accounts.models import User
from audit.context import AuditContext
from audit.models import Action
from audit.services import audit_record
from bookmarks.models import Bookmark
from machines import services as machine_services
from machines.models import VirtualMachine
from vmlab.core.dates import utc_text

logger = logging.getLogger(__name__)


def _refuse_unless(condition: bool, message: str) -> None:
    # For the state of the account (waiting, disabled): the rights are the queryset verbs' work.
    if not condition:
        raise PermissionDenied(message)


def _role_label(role: str) -> str:
    return Role(role).label if role in Role.values else role


@transaction.atomic
def user_approve(*, user: User, role: str, actor: User, context: AuditContext | None = None) -> User:
    waiting = User.objects.awaiting_approval().filter(pk=user.pk).exists()
    _refuse_unless(waiting, _("User %(user)s is not waiting for approval.") % {"user": user})
    refusal = _("You cannot approve users as %(role)s.") % {"role": _role_label(role)}
    _refuse_unless(role in grantable_roles(actor), refusal)
    require(User.objects.approvable_by, actor, user, refusal)
    user.role = role
    user.save(update_fields=["role", "updated_at"])
    audit_record(action=Action.USER_APPROVE, actor=actor, target=user, context=context, details={"role": role})
    logger.info("user %s approved as %s by %s", user.username, role, actor.username)
    return user


@transaction.atomic
def user_deny(*, user: User, actor: User, context: AuditContext | None = None) -> None:
    """Refuse a newcomer: their pending account is deleted."""
    _refuse_unless(user.role == Role.NEW_USER, _("User %(user)s is not waiting for approval.") % {"user": user})
    require(User.objects.deniable_by, actor, user, _("You cannot deny user %(user)s.") % {"user": user})
    # Recorded first: the row keeps the target's id and name once the account is gone.
    audit_record(action=Action.USER_DENY, actor=actor, target=user, context=context)
    username = user.username
    user.delete()
    logger.info("user %s denied by %s", username, actor.username)


@transaction.atomic
def user_set_role(*, user: User, role: str, actor: User, context: AuditContext | None = None) -> User:
    _refuse_unless(user.pk != actor.pk, _("You cannot change your own role."))
    refusal = _("You cannot change the role of user %(user)s to %(role)s.") % {"user": user, "role": _role_label(role)}
    require(User.objects.role_changeable_by, actor, user, refusal)
    _refuse_unless(role in grantable_roles(actor), refusal)
    old_role = user.role
    user.role = role
    user.save(update_fields=["role", "updated_at"])
    audit_record(
        action=Action.USER_ROLE, actor=actor, target=user, context=context, details={"old": old_role, "new": role}
    )
    logger.info("user %s set to role %s by %s", user.username, role, actor.username)
    return user


@transaction.atomic
def user_disable(*, user: User, actor: User, context: AuditContext | None = None) -> int:
    """Block the user's login, end their sessions, and share all their VMs so the lab keeps access.
    Returns how many VMs became shared."""
    _refuse_unless(user.pk != actor.pk, _("You cannot disable your own account."))
    require(User.objects.disablable_by, actor, user, _("You cannot disable user %(user)s.") % {"user": user})
    user.is_active = False
    user.session_generation += 1
    user.save(update_fields=["is_active", "session_generation", "updated_at"])
    shared = machine_services.vms_share_all_owned_by(owner=user)
    audit_record(action=Action.USER_DISABLE, actor=actor, target=user, context=context, details={"vms_shared": shared})
    logger.info("user %s disabled by %s; VMs made shared: %d", user.username, actor.username, shared)
    return shared


@transaction.atomic
def user_enable(*, user: User, actor: User, context: AuditContext | None = None) -> User:
    require(User.objects.disablable_by, actor, user, _("You cannot enable user %(user)s.") % {"user": user})
    user.is_active = True
    user.save(update_fields=["is_active", "updated_at"])
    audit_record(action=Action.USER_ENABLE, actor=actor, target=user, context=context)
    logger.info("user %s enabled by %s", user.username, actor.username)
    return user


@transaction.atomic
def user_set_access_expiry(
    *, user: User, actor: User, expires_at: datetime.datetime | None, context: AuditContext | None = None
) -> User:
    """Set when `user`'s access ends (None: never), for those who may disable them (managers: anyone but admins;
    admins: anyone but themselves). From then on the account has no access at all, as if disabled, and its
    sessions end; nothing else changes, so a later date gives it all back."""
    _refuse_unless(user.pk != actor.pk, _("You cannot change when your own access ends."))
    refusal = _("You cannot change when the access of %(user)s ends.") % {"user": user}
    require(User.objects.disablable_by, actor, user, refusal)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"access_expires_at": _("Choose a moment in the future, or disable the account.")})
    previous = User.objects.filter(pk=user.pk).values_list("access_expires_at", flat=True).get()
    if previous == expires_at:
        return user
    user.access_expires_at = expires_at
    user.save(update_fields=["access_expires_at", "updated_at"])
    details = {
        "expires_at": utc_text(expires_at),
        "previous": utc_text(previous),
    }
    audit_record(action=Action.USER_ACCESS_EXPIRY, actor=actor, target=user, context=context, details=details)
    logger.info("access end of user %s set to %s by %s", user.username, details["expires_at"], actor.username)
    return user


def user_deletion_counts(*, user: User) -> dict[str, int]:
    """What deleting `user` deletes with them."""
    return {
        "vms": VirtualMachine.objects.owned_by(user).count(),
        "bookmarks": Bookmark.objects.owned_by(user).count(),
    }


@transaction.atomic
def user_delete(*, user: User, actor: User, context: AuditContext | None = None) -> dict[str, int]:
    """Delete a disabled user with their VMs and bookmarks. Returns how many of each were deleted."""
    _refuse_unless(user.disabled, _("Only disabled users can be deleted: disable %(user)s first.") % {"user": user})
    require(User.objects.deletable_by, actor, user, _("You cannot delete user %(user)s.") % {"user": user})
    counts = user_deletion_counts(user=user)
    # Recorded first: the row keeps the target's id and name once the account is gone.
    audit_record(action=Action.USER_DELETE, actor=actor, target=user, context=context, details=counts)
    username = user.username
    user.delete()
    logger.info("user %s deleted by %s with %d VM(s) and %d bookmark(s)", username, actor.username, *counts.values())
    return counts


@dataclass(frozen=True)
class UserActions:
    """What `actor` may do to one user on the user pages: decided by the same verbs as the services."""

    roles: list[str]  # the choices of "Change role"; empty when the role cannot be changed
    approve_roles: list[str]  # the choices of "Approve as"; empty unless the user is waiting
    deny: bool
    disable: bool
    enable: bool
    delete: bool
    set_access_end: bool

    @property
    def any(self) -> bool:
        return bool(
            self.roles
            or self.approve_roles
            or self.deny
            or self.disable
            or self.enable
            or self.delete
            or self.set_access_end
        )


def user_actions_for(actor: User, user: User) -> UserActions:
    grantable = grantable_roles(actor)
    may_disable = allowed(User.objects.disablable_by, actor, user)
    return UserActions(
        roles=grantable if allowed(User.objects.role_changeable_by, actor, user) else [],
        approve_roles=grantable if allowed(User.objects.approvable_by, actor, user) else [],
        deny=allowed(User.objects.deniable_by, actor, user),
        disable=may_disable and user.is_active,
        enable=may_disable and user.disabled,
        delete=allowed(User.objects.deletable_by, actor, user),
        set_access_end=may_disable and user.is_approved,
    )
