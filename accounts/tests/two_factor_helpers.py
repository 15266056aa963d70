"""Second factors in tests: authenticator-app codes computed with pyotp, as a phone would."""

from base64 import b32encode

import pyotp
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts.two_factor import services


def authenticator_for(user) -> pyotp.TOTP:
    """A confirmed authenticator app for `user`, and the phone that shows its codes."""
    device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    return phone_of(device)


def phone_of(device) -> pyotp.TOTP:
    return pyotp.TOTP(b32encode(device.bin_key).decode())


def with_backup_codes(user) -> list[str]:
    return services.backup_codes_regenerate(user=user)


def stored_passkey_for(user) -> WebAuthnCredential:
    """A passkey row, as a registration leaves it (no authenticator behind it: for pages, not for signing in)."""
    return WebAuthnCredential.objects.create(
        user=user, name="Security key", confirmed=True, public_key=b"key", credential_id=b"id", sign_count=0
    )
