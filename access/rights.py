"""The rights each role gives (PRODUCT.md §3): the one place where a role becomes a right.

A right answers "may this user use this kind of thing at all?" (own VMs, manage users, read the audit trail).
Which objects a user may touch is decided by the queryset verbs of each model (`visible_to`, `editable_by`,
`assignable_by`, `deletable_by`, …), which start from these rights. Pages check a right with
access.checks.requires; objects are checked with access.checks.require / allowed.

Disabled users hold no right, whatever their role; nor do users whose access has expired (`access_expires_at` in
the past): an expired account is treated as disabled everywhere, without anything being changed.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from access.roles import SECOND_FACTOR_OPTIONAL, SHARING_DISABLED, Role

# Accounts whose access has not ended, in SQL: compared with the database's clock, like every expiry.
ACCESS_NOT_ENDED = Q(access_expires_at__isnull=True) | Q(access_expires_at__gt=Now())


def access_ended(user) -> bool:
    """Whether `user`'s access has expired, by this process's clock (ACCESS_NOT_ENDED is the same rule in SQL)."""
    ends = getattr(user, "access_expires_at", None)  # AnonymousUser has none
    return ends is not None and ends <= timezone.now()


@dataclass(frozen=True)
class Right:
    name: str
    roles: Callable[[], tuple[str, ...]]  # the roles that give it; a callable, as some follow the settings

    def granted_to(self, user) -> bool:
        return bool(user.is_authenticated and user.is_active and not access_ended(user) and user.role in self.roles())

    def holders(self) -> Q:
        """The same rule as granted_to, for User querysets.

        granted_to judges a user already loaded, so it reads Python's clock; here the database compares with its
        own (Now()). Both are the server's real clock, so they agree up to the skew between the two hosts; the
        queryset verbs that decide what a user may reach (visible_to & co.) compare assignment ends in SQL too.
        """
        return Q(is_active=True, role__in=self.roles()) & ACCESS_NOT_ENDED

    def __str__(self):
        return self.name


def _from(role: Role) -> Callable[[], tuple[str, ...]]:
    return lambda: tuple(Role.at_least(role))


def _sharing_roles() -> tuple[str, ...]:
    minimum = settings.VM_SHARING_MINIMUM_ROLE
    return () if minimum == SHARING_DISABLED else tuple(Role.at_least(minimum))


def _second_factor_roles() -> tuple[str, ...]:
    minimum = settings.TWO_FACTOR_REQUIRED_ROLE
    return () if minimum == SECOND_FACTOR_OPTIONAL else tuple(Role.at_least(minimum))


USE_PORTAL = Right("use the portal", _from(Role.REGULAR))  # approved: the VMs assigned to them, connect, reveal
OWN_VMS = Right("own VMs", _from(Role.SIDEKICK))
KEEP_BOOKMARKS = Right("keep bookmarks", _from(Role.SIDEKICK))
BE_ASSIGNED_VMS = Right("be assigned VMs", lambda: (Role.REGULAR, Role.SIDEKICK))
ASSIGN_VMS = Right("assign VMs", _from(Role.MANAGER))  # and decide access requests for their VMs
REQUEST_VMS = Right("request VMs", lambda: (Role.REGULAR, Role.SIDEKICK))  # ask a manager for a VM, or more time
SEE_OTHERS_SHARED_VMS = Right("see other users' shared VMs", _sharing_roles)
MANAGE_USERS = Right("manage users", _from(Role.MANAGER))
REMOVE_USERS = Right("deny newcomers and delete users", _from(Role.ADMIN))
VIEW_AUDIT = Right("read the audit trail", _from(Role.ADMIN))
VIEW_WORKER_HEALTH = Right("see the task queue's health", _from(Role.ADMIN))
# The Django admin: every VM's metadata and any owner, to clean up (§3). is_staff follows the same role.
ADMINISTER = Right("use the Django admin", _from(Role.ADMIN))
# From TWO_FACTOR_REQUIRED_ROLE up, nobody uses the portal before they have a second factor.
MUST_USE_SECOND_FACTOR = Right("must use a second factor", _second_factor_roles)
# With LOCAL_LOGIN=false, the accounts that may still sign in with a password kept by VM Lab itself.
BREAK_GLASS = Right("sign in with a local password when local login is off", _from(Role.ADMIN))


def grantable_roles(actor) -> list[str]:
    """Roles `actor` may give when approving a newcomer or changing someone's role."""
    if ADMINISTER.granted_to(actor):
        return [Role.REGULAR, Role.SIDEKICK, Role.MANAGER]
    if MANAGE_USERS.granted_to(actor):
        return [Role.REGULAR, Role.SIDEKICK]
    return []
