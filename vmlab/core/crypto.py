"""Encryption of secrets at rest: Fernet tokens under a MultiFernet built from FIELD_ENCRYPTION_KEYS.

The first key encrypts; every key decrypts, so adding a new key in front and running
`manage.py rotate_encryption_keys` moves all rows to it without downtime.
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

HOW_TO_GENERATE = (
    "Generate a key with: python -c "
    '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" '
    "and set FIELD_ENCRYPTION_KEYS=<key> (comma-separated when rotating, newest first)."
)


class DecryptionError(Exception):
    """A stored token that none of the configured keys can decrypt."""

    def __init__(self, detail=""):
        message = "Cannot decrypt a stored secret: check FIELD_ENCRYPTION_KEYS."
        super().__init__(f"{message} {detail}".strip())


def parse_keys(raw):
    """Turn the FIELD_ENCRYPTION_KEYS value into a tuple of keys, or explain what is wrong."""
    keys = tuple(part.strip() for part in (raw or "").split(",") if part.strip())
    if not keys:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS is not set. {HOW_TO_GENERATE}")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS key #{position} is not a valid Fernet key "
                f"(32 url-safe base64-encoded bytes). {HOW_TO_GENERATE}"
            ) from None
    return keys


@lru_cache(maxsize=8)
def _fernets(keys):
    return tuple(Fernet(key) for key in keys)


def fernets():
    """The configured keys as Fernet objects, first (encrypting) key first."""
    return _fernets(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return MultiFernet(fernets()).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return MultiFernet(fernets()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError() from None


def looks_like_token(text: str) -> bool:
    """Shape check only (version byte and length), to catch plaintext passed where a token belongs."""
    try:
        raw = base64.urlsafe_b64decode(text.encode())
    except (ValueError, TypeError):
        return False
    return len(raw) >= 73 and raw[0] == 0x80  # version, time, IV, one AES block, HMAC


def _first_key_that_decrypts(token: str) -> tuple[int, bytes] | None:
    """(position in FIELD_ENCRYPTION_KEYS, plaintext) for the first key that decrypts `token`, or None."""
    for position, fernet in enumerate(fernets()):
        try:
            return position, fernet.decrypt(token.encode())
        except InvalidToken:
            continue
    return None


def key_position(token: str) -> int | None:
    """Which key encrypted `token` (0 is the current one), or None when no configured key decrypts it."""
    found = _first_key_that_decrypts(token)
    return None if found is None else found[0]


def reencrypt_if_stale(token: str) -> str | None:
    """Return `token` re-encrypted with the first key, or None if the first key already encrypts it."""
    found = _first_key_that_decrypts(token)
    if found is None:
        raise DecryptionError()
    position, plaintext = found
    return None if position == 0 else fernets()[0].encrypt(plaintext).decode()
