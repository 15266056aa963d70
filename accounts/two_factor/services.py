"""Every change to a user's second factors, each recorded in the audit trail (never a secret or a code).

Adding a user's first factor gives them ten backup codes; removing their last one removes the codes too. Adding a
factor, and an admin's reset, end the user's other sessions (session_generation): from then on every session of a
user with a second factor has passed it.
"""

import hashlib
import logging
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp_webauthn.models import WebAuthnCredential

from access import rights
from access.checks import require_right
from accounts.models import AuthenticatorApp, BackupCode, BackupCodeDevice, User
from accounts.two_factor import devices
from audit.context import AuditContext
from audit.models import Action
from audit.services import audit_record

logger = logging.getLogger(__name__)

BACKUP_CODE_COUNT = 10
# 16 characters of base32: 80 random bits, shown as four groups of four.
_BACKUP_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
# Stored in English as the app's name, and shown translated (accounts.two_factor.devices.device_rows).
AUTHENTICATOR_APP_NAME = devices.AUTHENTICATOR_APP_NAME


def _end_other_sessions(user: User) -> None:
    User.objects.filter(pk=user.pk).update(session_generation=user.session_generation + 1)
    user.session_generation += 1


def normalise_backup_code(code: str) -> str:
    return "".join(code.lower().split()).replace("-", "")


def _hash(code: str) -> str:
    return hashlib.sha256(normalise_backup_code(code).encode()).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


@transaction.atomic
def authenticator_app_start(*, user: User) -> AuthenticatorApp:
    """A new authenticator app with a new seed (encrypted) for `user`, unconfirmed until they type a code from it
    (authenticator_app_confirm). Replaces any earlier unconfirmed one. Nothing to record yet: it signs nobody in."""
    AuthenticatorApp.objects.filter(user=user, confirmed=False).delete()
    return AuthenticatorApp.objects.create(user=user, name=AUTHENTICATOR_APP_NAME, confirmed=False)


def pending_authenticator_app(user: User) -> AuthenticatorApp | None:
    return AuthenticatorApp.objects.filter(user=user, confirmed=False).order_by("-pk").first()


@transaction.atomic
def authenticator_app_confirm(
    *, user: User, device: AuthenticatorApp, token: str, context: AuditContext | None = None
) -> tuple[bool, list[str]]:
    """Turn the pending authenticator app on if `token` is a valid code from it. Returns (confirmed, backup codes):
    the new backup codes (to show once) when this is the user's first factor, else []."""
    if device.user_id != user.pk or device.confirmed:
        return False, []
    # Locked, so that the same code sent twice at once turns it on once.
    locked = AuthenticatorApp.objects.select_for_update().filter(pk=device.pk, confirmed=False).first()
    if locked is None or not locked.verify_token(token):
        return False, []
    locked.confirmed = True
    locked.save(update_fields=["confirmed"])
    return True, _factor_added(user=user, device=locked, context=context)


@transaction.atomic
def passkey_added(*, user: User, device: WebAuthnCredential, context: AuditContext | None = None) -> list[str]:
    """Record a passkey that django-otp-webauthn has just registered and stored. Returns new backup codes, if any."""
    return _factor_added(user=user, device=device, context=context)


def _factor_added(*, user: User, device: Device, context: AuditContext | None) -> list[str]:
    kind = devices.kind_of(device)
    audit_record(
        action=Action.TWO_FACTOR_ENROL,
        actor=user,
        target=user,
        context=context,
        details={"kind": kind, "name": device.name},
    )
    logger.info("user %s added a second factor (%s)", user.username, kind)
    _end_other_sessions(user)
    if BackupCodeDevice.objects.filter(user=user).exists():
        return []
    return _generate_backup_codes(user=user, actor=user, context=context)


@transaction.atomic
def backup_codes_regenerate(*, user: User, context: AuditContext | None = None) -> list[str]:
    """Ten new backup codes for `user` (who has a second factor); the old ones stop working."""
    return _generate_backup_codes(user=user, actor=user, context=context)


def _generate_backup_codes(*, user: User, actor: User, context: AuditContext | None) -> list[str]:
    BackupCodeDevice.objects.filter(user=user).delete()
    device = BackupCodeDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    codes = [_new_code() for _ in range(BACKUP_CODE_COUNT)]
    BackupCode.objects.bulk_create(BackupCode(device=device, code_hash=_hash(code)) for code in codes)
    audit_record(
        action=Action.BACKUP_CODES_CREATE, actor=actor, target=user, context=context, details={"count": len(codes)}
    )
    return codes


@transaction.atomic
def backup_code_use(*, user: User, code: str, context: AuditContext | None = None) -> BackupCodeDevice | None:
    """Use up the backup code `code` of `user`: its device if the code was valid and unused, else None."""
    device = BackupCodeDevice.objects.filter(user=user, confirmed=True).first()
    if device is None or not normalise_backup_code(code):
        return None
    # One conditional UPDATE: the same code sent twice at once is used once.
    used = BackupCode.objects.filter(device=device, code_hash=_hash(code), used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if not used:
        return None
    left = BackupCode.objects.filter(device=device, used_at__isnull=True).count()
    audit_record(action=Action.BACKUP_CODE_USE, actor=user, target=user, context=context, details={"left": left})
    logger.info("user %s used a backup code (%d left)", user.username, left)
    return device


@transaction.atomic
def device_remove(*, user: User, device: Device, context: AuditContext | None = None) -> None:
    """`user` removes one of their own authenticator apps or passkeys (having confirmed who they are).
    Removing the last one removes the backup codes too."""
    if device.user_id != user.pk:
        raise ValueError("A user removes only their own second factors.")
    kind = devices.kind_of(device)
    name = device.name
    device.delete()
    if not devices.has_second_factor(user):
        BackupCodeDevice.objects.filter(user=user).delete()
    audit_record(
        action=Action.TWO_FACTOR_REMOVE, actor=user, target=user, context=context, details={"kind": kind, "name": name}
    )
    logger.info("user %s removed a second factor (%s)", user.username, kind)


@transaction.atomic
def devices_reset(*, user: User, actor: User, context: AuditContext | None = None) -> int:
    """An admin removes every second factor of `user` (a lost phone), and ends their sessions. Returns how many
    authenticator apps and passkeys were removed. The user sets a new one up at their next sign-in if their role
    requires one."""
    require_right(rights.ADMINISTER, actor, _("Only admins reset another user's second factors."))
    removed = 0
    for model in (AuthenticatorApp, WebAuthnCredential):
        removed += model.objects.filter(user=user, confirmed=True).count()
        model.objects.filter(user=user).delete()
    BackupCodeDevice.objects.filter(user=user).delete()
    _end_other_sessions(user)
    audit_record(
        action=Action.TWO_FACTOR_RESET, actor=actor, target=user, context=context, details={"removed": removed}
    )
    logger.info("second factors of %s reset by %s (%d removed)", user.username, actor.username, removed)
    return removed
