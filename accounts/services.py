"""Changes people make to their own account (sign-up, profile, password), and an admin's new account.

Approving, roles, disabling and deleting accounts are the user pages' work: people.services.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from access import rights
from access.checks import require_right
from access.rights import grantable_roles
from access.roles import Role
from accounts.models import SignIn, User
from accounts.role_map import GrantedRole, role_after_sign_in
from audit.context import AuditContext
from audit.models import Action
from audit.services import SYSTEM_ACTORS, audit_record

logger = logging.getLogger(__name__)

PERSONAL_FIELDS = ("username", "email", "first_name", "last_name")
# What people change on their profile page: their personal fields, their time zone and their language.
PROFILE_FIELDS = (*PERSONAL_FIELDS, "time_zone", "language")


@sensitive_variables()
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


@sensitive_variables()
@transaction.atomic
def user_create(
    *, actor: User, username: str, email: str, role: str, password: str | None, context: AuditContext | None = None
) -> User:
    """An account an admin creates in the Django admin; `password` None gives an account that can only sign in
    after a password reset."""
    require_right(rights.ADMINISTER, actor, _("Only admins create accounts."))
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
    if actor.pk != user.pk:
        require_right(rights.ADMINISTER, actor, _("Only admins change someone else's profile."))
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


# Accounts whose password lives elsewhere: the directory (LDAP) or an OpenID Connect provider. Their personal
# fields and role come from there at each sign-in; they have no usable password in VM Lab. The actor of these
# changes is the identity source itself, named in the audit row.

SOURCE_LABELS = {SignIn.LDAP: SYSTEM_ACTORS["ldap"], SignIn.OIDC: SYSTEM_ACTORS["oidc"]}


class ExternalAccountConflict(Exception):
    """The identity source names an account that VM Lab cannot take on; the message says why, for the user."""


def _refuse_taken_email(email: str, exclude_pk=None) -> None:
    others = User.objects.filter(email__iexact=email)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        raise ExternalAccountConflict(
            _("Another VM Lab account already uses your e-mail address %(email)s: ask a lab admin.") % {"email": email}
        )


@transaction.atomic
def external_user_create(
    *,
    sign_in: str,
    username: str,
    email: str,
    first_name: str,
    last_name: str,
    granted: GrantedRole,
    oidc_subject: str | None = None,
    context: AuditContext | None = None,
) -> User:
    """The account of someone signing in for the first time through the directory or OIDC, with the role their
    groups grant: with none, a newcomer on the waiting list, as if they had registered."""
    if not email:
        raise ExternalAccountConflict(_("Your account has no e-mail address there: VM Lab needs one. Ask a lab admin."))
    _refuse_taken_email(email)
    user = User(
        username=username,
        email=email,
        first_name=first_name[:150],
        last_name=last_name[:150],
        role=granted.role,
        sign_in=sign_in,
        oidc_subject=oidc_subject,
    )
    user.set_unusable_password()
    user.save()
    details = {"source": sign_in, "role": granted.role}
    if granted.group is not None:
        details["group"] = granted.group
    audit_record(
        action=Action.USER_EXTERNAL_CREATE,
        target=user,
        context=context,
        details=details,
        operator=SOURCE_LABELS[sign_in],
    )
    logger.info("user %s created at first sign-in through %s as %s", username, sign_in, granted.role)
    return user


@transaction.atomic
def external_user_refresh(
    *,
    user: User,
    email: str,
    first_name: str,
    last_name: str,
    granted: GrantedRole,
    authoritative: bool,
    context: AuditContext | None = None,
) -> User:
    """At each sign-in through the directory or OIDC: the personal fields as the source has them now, and the role
    it grants (only ever raised, unless `authoritative`). A disabled account is left as it is."""
    if not user.is_active:
        return user
    source = SOURCE_LABELS[user.sign_in]
    values = {"first_name": first_name[:150], "last_name": last_name[:150]}
    if email and email.lower() != user.email.lower():
        try:
            _refuse_taken_email(email, exclude_pk=user.pk)
        except ExternalAccountConflict:
            logger.warning("%s gives %s the e-mail address of another account: kept the old one", source, user)
        else:
            values["email"] = email
    changed = [name for name, value in values.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, values[name])
    new_role = role_after_sign_in(current=user.role, granted=granted, authoritative=authoritative)
    old_role = user.role
    if new_role != old_role:
        user.role = new_role
        changed.append("role")
    if not changed:
        return user
    user.save(update_fields=[*changed, "updated_at"])
    personal = [name for name in changed if name != "role"]
    if personal:
        audit_record(
            action=Action.USER_PROFILE, target=user, context=context, details={"fields": personal}, operator=source
        )
    if new_role != old_role:
        details = {"old": old_role, "new": new_role, "source": user.sign_in, "authoritative": authoritative}
        if granted.group is not None:
            details["group"] = granted.group
        audit_record(action=Action.USER_ROLE_SYNC, target=user, context=context, details=details, operator=source)
        logger.info("%s set the role of %s from %s to %s", source, user.username, old_role, new_role)
    return user
