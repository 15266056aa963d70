"""Personal access tokens for the REST API: created, checked on each request, revoked. Audited.

A token is `vmlab_` and 43 random URL-safe characters (256 bits), shown once; the database keeps its SHA-256 only,
so a copy of the database opens nothing. The prefix lets secret scanners recognise a leaked token.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from access import rights
from access.checks import require, require_right
from accounts.models import ApiToken, TokenScope, User
from audit.context import AuditContext
from audit.models import Action
from audit.services import audit_record

TOKEN_PREFIX = "vmlab_"  # noqa: S105 (not a secret: what every token starts with)
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 4
# How stale "last used" may get: a token used all day long does not write its row on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


def token_digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _clean_name(name: str) -> str:
    name = name.strip()
    max_length = ApiToken._meta.get_field("name").max_length
    if not name:
        raise ValidationError({"name": _("Give the token a name, e.g. where it is used.")})
    if len(name) > max_length:
        raise ValidationError({"name": _("At most %(max)d characters.") % {"max": max_length}})
    return name


def _clean_days(days: int | None) -> int:
    if days is None:
        return settings.API_TOKEN_DEFAULT_DAYS
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        message = _("Between 1 and %(max)d days.") % {"max": settings.API_TOKEN_MAX_DAYS}
        raise ValidationError({"expires_in_days": message})
    return days


@sensitive_variables("plaintext")
@transaction.atomic
def token_create(
    *, user: User, name: str, scope: str, expires_in_days: int | None = None, context: AuditContext | None = None
) -> tuple[ApiToken, str]:
    """A new token of `user`'s, and its plaintext: the only time it exists outside the client."""
    require_right(rights.USE_PORTAL, user, _("Your account cannot use the API yet."))
    if scope not in TokenScope.values:
        raise ValidationError({"scope": _("Choose read or write.")})
    name, days = _clean_name(name), _clean_days(expires_in_days)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        digest=token_digest(plaintext),
        prefix=plaintext[:SHOWN_PREFIX_LENGTH],
        scope=scope,
        expires_at=timezone.now() + timedelta(days=days),
    )
    details = {"name": name, "scope": scope, "days": days, "starts_with": token.prefix}
    audit_record(action=Action.TOKEN_CREATE, actor=user, target=token, context=context, details=details)
    return token, plaintext


@transaction.atomic
def token_revoke(*, token: ApiToken, actor: User, context: AuditContext | None = None) -> bool:
    """Revoke `token` (its owner, or an admin in the Django admin); False if it was revoked already."""
    in_admin = context is not None and context.is_admin
    verb = ApiToken.objects.administrable_by if in_admin else ApiToken.objects.revocable_by
    require(verb, actor, token, _("You cannot revoke this token."))
    if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
        return False
    token.refresh_from_db(fields=["revoked_at"])
    details = {"name": token.name, "owner": token.user.username, "starts_with": token.prefix}
    audit_record(action=Action.TOKEN_REVOKE, actor=actor, target=token, context=context, details=details)
    return True


@sensitive_variables("plaintext")
def token_authenticate(plaintext: str, *, context: AuditContext) -> ApiToken | None:
    """The token `plaintext` names, if it still opens the API: not revoked, not expired, its owner not disabled.

    Records when and from where it was last used (to the minute); use from another address than the last one is
    written to the audit trail.
    """
    token = ApiToken.objects.active().select_related("user").filter(digest=token_digest(plaintext)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    new_ip = context.ip != token.last_used_ip
    if new_ip or token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=context.ip)
        if new_ip:
            details = {"name": token.name, "previous_ip": token.last_used_ip, "starts_with": token.prefix}
            audit_record(action=Action.TOKEN_NEW_IP, actor=token.user, target=token, context=context, details=details)
        token.last_used_at, token.last_used_ip = now, context.ip
    return token
