"""Changes people make to their own account (sign-up, profile, password), and an admin's new account.

Approving, roles, disabling and deleting accounts are the user pages' work: people.services.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from access.rights import grantable_roles
from access.roles import Role
from accounts.models import User
from audit.context import AuditContext
from audit.models import Action
from audit.services import audit_record

logger = logging.getLogger(__name__)

PERSONAL_FIELDS = ("username", "email", "first_name", "last_name")
# What people change on their profile page: their personal fields and their time zone.
PROFILE_FIELDS = (*PERSONAL_FIELDS, "time_zone")


@sensitive_variables("password")
@transaction.atomic
def user_register(
    *,
    username: str,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    context: AuditContext | None = None,
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
    audit_record(action=Action.USER_REGISTER, actor=user, target=user, context=context)
    logger.info("user %s registered", user.username)
    return user


@sensitive_variables("password")
@transaction.atomic
def user_create(
    *, actor: User, username: str, email: str, role: str, password: str | None, context: AuditContext | None = None
) -> User:
    """An account an admin creates in the Django admin; `password` None gives an account that can only sign in
    after a password reset."""
    if role not in grantable_roles(actor):
        raise PermissionDenied(_("You cannot create users with the role %(role)s.") % {"role": role})
    user = User.objects.create_user(username=username, email=email, password=password, role=role)
    audit_record(action=Action.USER_CREATE, actor=actor, target=user, context=context, details={"role": role})
    logger.info("user %s created by %s", user.username, actor.username)
    return user


def user_password_changed(*, user: User, actor: User, how: str, context: AuditContext | None = None) -> None:
    """Record that `user`'s password was set by Django's own forms: "change", "reset" or "admin".

    `actor` is whoever did it: the user, an admin, or the user again when a reset link was used.
    """
    audit_record(action=Action.PASSWORD_CHANGE, actor=actor, target=user, context=context, details={"how": how})


@transaction.atomic
def user_update_profile(*, user: User, actor: User, context: AuditContext | None = None, **values) -> list[str]:
    """Change the profile fields (PROFILE_FIELDS) of `user`, by themselves or by an admin. Returns the names of
    the fields that changed. Uniqueness is checked by the forms, and again by the database."""
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"user_update_profile changes {PROFILE_FIELDS} only, not {sorted(unknown)}.")
    stored = User.objects.filter(pk=user.pk).values(*values).get()
    changed = sorted(name for name, value in values.items() if stored[name] != value)
    for name, value in values.items():
        setattr(user, name, value)
    if not changed:
        return changed
    user.save(update_fields=[*changed, "updated_at"])
    audit_record(action=Action.USER_PROFILE, actor=actor, target=user, context=context, details={"fields": changed})
    logger.info("user %s's profile changed by %s: %s", user.username, actor.username, ", ".join(changed))
    return changed
