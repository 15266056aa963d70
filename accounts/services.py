"""Every change to a user account, with the rights of PRODUCT.md §3 checked in one place."""

import logging
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role
from audit.models import Action
from audit.services import audit_record
from bookmarks.models import Bookmark
from machines.models import VirtualMachine

logger = logging.getLogger(__name__)


def grantable_roles(actor: User) -> list[str]:
    """Roles `actor` may give when approving a newcomer or changing someone's role."""
    if not actor.is_active:
        return []
    if actor.role_at_least(Role.ADMIN):
        return [Role.REGULAR, Role.SIDEKICK, Role.MANAGER]
    if actor.role_at_least(Role.MANAGER):
        return [Role.REGULAR, Role.SIDEKICK]
    return []


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _role_label(role: str) -> str:
    return Role(role).label if role in Role.values else role


@transaction.atomic
def user_register(
    *, username: str, email: str, password: str, first_name: str = "", last_name: str = "", request=None
) -> User:
    """A newcomer's own sign-up: the account waits for a manager's approval."""
    user = User.objects.create_user(
        username=username,
        email=email,
        password=password,
        first_name=first_name,
        last_name=last_name,
        role=Role.NEW_USER,
    )
    audit_record(action=Action.USER_REGISTER, actor=user, target=user, request=request)
    logger.info("user %s registered", user.username)
    return user


def user_password_changed(*, user: User, how: str, request=None) -> None:
    """Record that `user`'s password was set ("change", "reset" or "admin"): Django's own forms write it.

    The actor is whoever is logged in (the user, or an admin), or the user when a reset link was used.
    """
    actor = request.user if request is not None and request.user.is_authenticated else user
    audit_record(action=Action.PASSWORD_CHANGE, actor=actor, target=user, request=request, details={"how": how})


@transaction.atomic
def user_update_profile(
    *, user: User, username: str, email: str, first_name: str, last_name: str, request=None
) -> User:
    """A user's own profile settings; uniqueness is checked by the form, and again by the database."""
    new = {"username": username, "email": email, "first_name": first_name, "last_name": last_name}
    changed = sorted(name for name, value in new.items() if getattr(user, name) != value)
    if not changed:
        return user
    for name in changed:
        setattr(user, name, new[name])
    user.save(update_fields=[*changed, "updated_at"])
    audit_record(action=Action.USER_PROFILE, actor=user, target=user, request=request, details={"fields": changed})
    logger.info("user %s changed their profile: %s", user.username, ", ".join(changed))
    return user


@transaction.atomic
def user_approve(*, user: User, role: str, actor: User, request=None) -> User:
    _require(
        user.role == Role.NEW_USER and user.is_active, _("User %(user)s is not waiting for approval.") % {"user": user}
    )
    _require(role in grantable_roles(actor), _("You cannot approve users as %(role)s.") % {"role": _role_label(role)})
    user.role = role
    user.save(update_fields=["role", "updated_at"])
    audit_record(action=Action.USER_APPROVE, actor=actor, target=user, request=request, details={"role": role})
    logger.info("user %s approved as %s by %s", user.username, role, actor.username)
    return user


def _may_deny(actor: User, user: User) -> bool:
    return user.role == Role.NEW_USER and user.is_active and actor.can_remove_users


@transaction.atomic
def user_deny(*, user: User, actor: User, request=None) -> None:
    """Refuse a newcomer: their pending account is deleted."""
    _require(user.role == Role.NEW_USER, _("User %(user)s is not waiting for approval.") % {"user": user})
    _require(_may_deny(actor, user), _("You cannot deny user %(user)s.") % {"user": user})
    # Recorded first: the row keeps the target's id and name once the account is gone.
    audit_record(action=Action.USER_DENY, actor=actor, target=user, request=request)
    username = user.username
    user.delete()
    logger.info("user %s denied by %s", username, actor.username)


@transaction.atomic
def user_set_role(*, user: User, role: str, actor: User, request=None) -> User:
    _require(user.pk != actor.pk, _("You cannot change your own role."))
    _require(
        user.role in grantable_roles(actor) and role in grantable_roles(actor),
        _("You cannot change the role of user %(user)s to %(role)s.") % {"user": user, "role": _role_label(role)},
    )
    old_role = user.role
    user.role = role
    user.save(update_fields=["role", "updated_at"])
    audit_record(
        action=Action.USER_ROLE, actor=actor, target=user, request=request, details={"old": old_role, "new": role}
    )
    logger.info("user %s set to role %s by %s", user.username, role, actor.username)
    return user


def _may_disable(actor: User, user: User) -> bool:
    if user.pk == actor.pk or not actor.is_active or not actor.role_at_least(Role.MANAGER):
        return False
    return actor.role_at_least(Role.ADMIN) or not user.role_at_least(Role.ADMIN)


@transaction.atomic
def user_disable(*, user: User, actor: User, request=None) -> int:
    """Block the user's login and share all their VMs so the lab keeps access. Returns VMs shared."""
    _require(user.pk != actor.pk, _("You cannot disable your own account."))
    _require(_may_disable(actor, user), _("You cannot disable user %(user)s.") % {"user": user})
    user.is_active = False
    user.session_generation += 1
    user.save(update_fields=["is_active", "session_generation", "updated_at"])
    shared = VirtualMachine.objects.owned_by(user).filter(shared=False).update_as_change(shared=True)
    audit_record(action=Action.USER_DISABLE, actor=actor, target=user, request=request, details={"vms_shared": shared})
    logger.info("user %s disabled by %s; VMs made shared: %d", user.username, actor.username, shared)
    return shared


@transaction.atomic
def user_enable(*, user: User, actor: User, request=None) -> User:
    _require(_may_disable(actor, user), _("You cannot enable user %(user)s.") % {"user": user})
    user.is_active = True
    user.save(update_fields=["is_active", "updated_at"])
    audit_record(action=Action.USER_ENABLE, actor=actor, target=user, request=request)
    logger.info("user %s enabled by %s", user.username, actor.username)
    return user


def _may_delete(actor: User, user: User) -> bool:
    # The same rule as User.objects.deletable_by(actor), for a user already loaded.
    return actor.can_remove_users and user.disabled and user.pk != actor.pk


def user_deletion_counts(*, user: User) -> dict[str, int]:
    """What deleting `user` deletes with them."""
    return {
        "vms": VirtualMachine.objects.owned_by(user).count(),
        "bookmarks": Bookmark.objects.owned_by(user).count(),
    }


@transaction.atomic
def user_delete(*, user: User, actor: User, request=None) -> dict[str, int]:
    """Delete a disabled user with their VMs and bookmarks. Returns how many of each were deleted."""
    _require(user.disabled, _("Only disabled users can be deleted: disable %(user)s first.") % {"user": user})
    _require(_may_delete(actor, user), _("You cannot delete user %(user)s.") % {"user": user})
    counts = user_deletion_counts(user=user)
    # Recorded first: the row keeps the target's id and name once the account is gone.
    audit_record(action=Action.USER_DELETE, actor=actor, target=user, request=request, details=counts)
    username = user.username
    user.delete()
    logger.info("user %s deleted by %s with %d VM(s) and %d bookmark(s)", username, actor.username, *counts.values())
    return counts


@dataclass(frozen=True)
class UserActions:
    """What `actor` may do to one user on the user pages: decided here, drawn by the templates."""

    roles: list[str]  # the choices of "Change role"; empty when the role cannot be changed
    approve_roles: list[str]  # the choices of "Approve as"; empty unless the user is waiting
    deny: bool
    disable: bool
    enable: bool
    delete: bool

    @property
    def any(self) -> bool:
        return bool(self.roles or self.approve_roles or self.deny or self.disable or self.enable or self.delete)


def user_actions_for(actor: User, user: User) -> UserActions:
    grantable = grantable_roles(actor)
    may_disable = _may_disable(actor, user)
    waiting = user.role == Role.NEW_USER and user.is_active
    return UserActions(
        roles=grantable if user.pk != actor.pk and user.role in grantable else [],
        approve_roles=grantable if waiting else [],
        deny=_may_deny(actor, user),
        disable=may_disable and user.is_active,
        enable=may_disable and user.disabled,
        delete=_may_delete(actor, user),
    )
