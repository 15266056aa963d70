"""Every change to a user account, with the rights of PRODUCT.md §3 checked in one place."""

import logging

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role
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


def user_approve(*, user: User, role: str, actor: User) -> User:
    _require(user.role == Role.NEW_USER, _("User %(user)s is not waiting for approval.") % {"user": user})
    _require(role in grantable_roles(actor), _("You cannot approve users as %(role)s.") % {"role": Role(role).label})
    user.role = role
    user.save(update_fields=["role", "updated_at"])
    logger.info("user %s approved as %s by %s", user.username, role, actor.username)
    return user


def user_set_role(*, user: User, role: str, actor: User) -> User:
    _require(user.pk != actor.pk, _("You cannot change your own role."))
    _require(
        user.role in grantable_roles(actor) and role in grantable_roles(actor),
        _("You cannot change the role of user %(user)s to %(role)s.") % {"user": user, "role": Role(role).label},
    )
    user.role = role
    user.save(update_fields=["role", "updated_at"])
    logger.info("user %s set to role %s by %s", user.username, role, actor.username)
    return user


def _may_disable(actor: User, user: User) -> bool:
    if user.pk == actor.pk or not actor.is_active or not actor.role_at_least(Role.MANAGER):
        return False
    return actor.role_at_least(Role.ADMIN) or not user.role_at_least(Role.ADMIN)


@transaction.atomic
def user_disable(*, user: User, actor: User) -> int:
    """Block the user's login and share all their VMs so the lab keeps access. Returns VMs shared."""
    _require(user.pk != actor.pk, _("You cannot disable your own account."))
    _require(_may_disable(actor, user), _("You cannot disable user %(user)s.") % {"user": user})
    user.is_active = False
    user.save(update_fields=["is_active", "updated_at"])
    shared = VirtualMachine.objects.owned_by(user).filter(shared=False).update(shared=True, updated_at=timezone.now())
    logger.info("user %s disabled by %s; VMs made shared: %d", user.username, actor.username, shared)
    return shared


def user_enable(*, user: User, actor: User) -> User:
    _require(_may_disable(actor, user), _("You cannot enable user %(user)s.") % {"user": user})
    user.is_active = True
    user.save(update_fields=["is_active", "updated_at"])
    logger.info("user %s enabled by %s", user.username, actor.username)
    return user
