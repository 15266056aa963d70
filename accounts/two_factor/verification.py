"""Checking a typed second-factor code: one from an authenticator app, or a backup code (used up)."""

import logging
import re

from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.models import Device

from accounts.models import AuthenticatorApp
from accounts.two_factor import devices, services
from audit.context import AuditContext
from vmlab.core.crypto import DecryptionError

logger = logging.getLogger(__name__)

_TOTP_CODE = re.compile(r"\d{6}")


class AuthenticatorUnreadable(Exception):
    """No authenticator app of the user accepted the code, and at least one could not check it: its seed does not
    decrypt with FIELD_ENCRYPTION_KEYS (the key that encrypted it is gone). No code can pass such an app, so trying
    one is no guess: `counted` is True only when another app of the user could check the code and refused it, which
    counts toward the lockout like any wrong code."""

    reason = "authenticator_unreadable"

    def __init__(self, *, counted: bool):
        self.counted = counted
        self.message = _(
            "This authenticator app cannot be checked right now: use a backup code or ask an admin to reset your "
            "second factor."
        )
        super().__init__(self.message)


def verify_code(user, token: str, *, context: AuditContext | None = None) -> Device | None:
    """The device that accepts `token` for `user`, or None.

    Six digits are checked against the user's authenticator apps: a code is refused once used, and so is an older
    one, so it cannot be replayed within its time step (AuthenticatorApp.last_t). Anything else is tried as a backup
    code, which is used up (and recorded) if valid. Raises AuthenticatorUnreadable when no app accepted six digits
    and one of them could not check them.
    """
    token = "".join((token or "").split())
    if _TOTP_CODE.fullmatch(token):
        return _authenticator_app_accepting(user, token)
    return services.backup_code_use(user=user, code=token, context=context)


def _authenticator_app_accepting(user, token: str) -> AuthenticatorApp | None:
    unreadable = refused = 0
    for pk in devices.confirmed_authenticator_apps(user).values_list("pk", flat=True):
        with transaction.atomic():
            app = AuthenticatorApp.objects.select_for_update().filter(pk=pk).first()
            if app is None:  # removed meanwhile
                continue
            try:
                if app.verify_token(token):
                    return app
            except DecryptionError:
                unreadable += 1
                logger.error(
                    "Authenticator app #%s of user %s cannot check codes: its seed does not decrypt with "
                    "FIELD_ENCRYPTION_KEYS. The user signs in with a backup code, or an admin resets their second "
                    "factor.",
                    pk,
                    user.get_username(),
                )
                continue
            refused += 1
    if unreadable:
        raise AuthenticatorUnreadable(counted=refused > 0)
    return None
