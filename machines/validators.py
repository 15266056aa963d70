import ipaddress
import re

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

SSH_KEY_MAX_BYTES = 16 * 1024
PORT_MIN, PORT_MAX = 1, 65535
SECRET_PASSWORD_MAX_LENGTH = 1024

# RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 253 characters at most.
_HOSTNAME_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
# An IPv6 zone (fe80::1%eth0) is an interface name; ipaddress would accept any text after the "%".
_IPV6_ZONE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _is_ip_address(value: str) -> bool:
    _address, percent, zone = value.partition("%")
    if percent and not _IPV6_ZONE.fullmatch(zone):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def validate_host(value: str) -> None:
    if _is_ip_address(value):
        return
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_HOSTNAME_LABEL.fullmatch(label) for label in labels):
        raise ValidationError(
            _("Enter a valid host name, IPv4 or IPv6 address (e.g. vm1.lab.example.org or 10.0.0.5)."),
            code="invalid_host",
        )
    if labels[-1].isdigit():
        raise ValidationError(_("%(value)s is not a valid IPv4 address."), code="invalid_host", params={"value": value})


# Letters, digits and . _ - @ (domain accounts), not starting with "-": nothing a shell or ssh
# would read as syntax or as an option when the name is pasted into `ssh user@host`.
_SSH_USERNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._@-]*")


def validate_ssh_username(value: str) -> None:
    if not _SSH_USERNAME.fullmatch(value):
        raise ValidationError(
            _("Use letters, digits and . _ - @ only, not starting with - (e.g. ubuntu or jane.doe)."),
            code="invalid_username",
        )


def normalize_ssh_key(text: str) -> str:
    """Key text as OpenSSH reads it: LF line endings (browsers post CRLF) and one final newline."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip() + "\n"


def validate_ssh_private_key(value: str) -> None:
    """Accept what `cryptography` can load as an unencrypted private key (OpenSSH or PEM format)."""
    data = value.encode()
    if len(data) > SSH_KEY_MAX_BYTES:
        raise ValidationError(
            _("The SSH key is larger than %(limit)s KiB; paste the private key file itself."),
            code="ssh_key_too_large",
            params={"limit": SSH_KEY_MAX_BYTES // 1024},
        )
    stripped = data.strip()
    if stripped.startswith((b"ssh-", b"ecdsa-", b"sk-")) or b"PUBLIC KEY-----" in stripped:
        raise ValidationError(
            _("This is a public key. Paste the private key (the file without .pub)."), code="ssh_public_key"
        )
    loader = (
        serialization.load_ssh_private_key
        if b"BEGIN OPENSSH PRIVATE KEY" in stripped
        else serialization.load_pem_private_key
    )
    try:
        key = loader(stripped, password=None)
    except TypeError:
        raise ValidationError(
            _(
                "This private key is protected by a passphrase. Passphrase-protected keys are not supported: "
                "remove the passphrase from a copy with `ssh-keygen -p -f <copy>` and paste that copy."
            ),
            code="ssh_key_encrypted",
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        if stripped.startswith(b"-----BEGIN "):
            # Armour that does not load is a key cut short or mangled while copying, rather than the wrong file.
            message = _(
                "This is not a private key in OpenSSH or PEM format: it looks damaged or incomplete. "
                "Copy the whole file again, from the -----BEGIN line to the -----END line."
            )
        else:
            message = _("This is not a private key in OpenSSH or PEM format.")
        raise ValidationError(message, code="ssh_key_invalid") from None
    if not _logs_in_over_ssh(key):
        raise ValidationError(
            _("This kind of key cannot log in over SSH: use an Ed25519, Ed448, ECDSA (P-256/384/521) or RSA key."),
            code="ssh_key_unusable",
        )


def _logs_in_over_ssh(key) -> bool:
    """Whether SSH has a signature algorithm for the key (X25519 or Brainpool keys load, but cannot log in)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return isinstance(key.curve, ec.SECP256R1 | ec.SECP384R1 | ec.SECP521R1)
    # DSA is left out too: OpenSSH servers have refused it by default since 2015.
    return isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
