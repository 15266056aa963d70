"""Checking a typed second-factor code: one from an authenticator app, or a backup code (used up)."""

import re

from django.db import transaction
from django_otp.models import Device

from accounts.two_factor import devices, services
from audit.context import AuditContext

_TOTP_CODE = re.compile(r"\d{6}")


def verify_code(user, token: str, *, context: AuditContext | None = None) -> Device | None:
    """The device that accepts `token` for `user`, or None.

    Six digits are checked against the user's authenticator apps: a code is refused once used, and so is an older
    one, so it cannot be replayed within its time step (django-otp's TOTPDevice.last_t). Anything else is tried as
    a backup code, which is used up (and recorded) if valid.
    """
    token = "".join((token or "").split())
    if _TOTP_CODE.fullmatch(token):
        for device in devices.confirmed_totp_devices(user):
            with transaction.atomic():
                locked = type(device).objects.select_for_update().get(pk=device.pk)
                if locked.verify_token(token):
                    return locked
        return None
    return services.backup_code_use(user=user, code=token, context=context)
