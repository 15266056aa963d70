"""Second factors in tests: authenticator-app codes computed with pyotp, as a phone would."""

import pyotp
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import AuthenticatorApp
from accounts.two_factor import services


def authenticator_for(user) -> pyotp.TOTP:
    """A confirmed authenticator app for `user`, and the phone that shows its codes."""
    device = AuthenticatorApp.objects.create(user=user, name="Phone", confirmed=True)
    return phone_of(device)


def phone_of(device: AuthenticatorApp) -> pyotp.TOTP:
    """The phone that scanned `device`'s QR code (reads, and so decrypts, its seed)."""
    return pyotp.TOTP(device.base32_seed)


def with_backup_codes(user) -> list[str]:
    return services.backup_codes_regenerate(user=user)


def stored_passkey_for(user) -> WebAuthnCredential:
    """A passkey row, as a registration leaves it (no authenticator behind it: for pages, not for signing in)."""
    return WebAuthnCredential.objects.create(
        user=user, name="Security key", confirmed=True, public_key=b"key", credential_id=b"id", sign_count=0
    )
