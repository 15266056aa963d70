"""A user's second factors, as django-otp devices: authenticator apps (TOTP), passkeys (WebAuthn) and backup codes.

Reads only, none of which loads an authenticator app's seed (so none decrypts one); every change is in
accounts.two_factor.services. Backup codes come with the first real factor and are no factor on their own.
"""

from dataclasses import dataclass

from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device
from django_otp_webauthn.models import WebAuthnCredential

from access import rights
from accounts.models import AuthenticatorApp, BackupCodeDevice

TOTP, PASSKEY, BACKUP_CODE = "totp", "passkey", "backup_code"
KINDS = {AuthenticatorApp: TOTP, WebAuthnCredential: PASSKEY, BackupCodeDevice: BACKUP_CODE}
KIND_LABELS = {TOTP: _("Authenticator app"), PASSKEY: _("Passkey"), BACKUP_CODE: _("Backup codes")}
MODELS = {kind: model for model, kind in KINDS.items()}
# The name an authenticator app is stored with (accounts.two_factor.services): a msgid, translated when shown.
AUTHENTICATOR_APP_NAME = gettext_noop("Authenticator app")


def kind_of(device: Device) -> str:
    return KINDS[type(device)]


def display_name(device: Device) -> str:
    """The device's name as shown: the default name of authenticator apps in the language of the page."""
    return gettext(device.name) if device.name == AUTHENTICATOR_APP_NAME else device.name


def has_second_factor(user) -> bool:
    """Whether `user` has a confirmed authenticator app or passkey. At most two queries."""
    return has_authenticator_app(user) or has_passkey(user)


def must_set_one_up(user) -> bool:
    """Whether `user`'s role requires a second factor (access.rights.MUST_USE_SECOND_FACTOR) they do not have yet:
    then they may use nothing but the two-factor pages."""
    return rights.MUST_USE_SECOND_FACTOR.granted_to(user) and not has_second_factor(user)


def confirmed_authenticator_apps(user):
    """The user's authenticator apps that sign in, without their seeds (checking a code loads the one it tries)."""
    return AuthenticatorApp.objects.filter(user=user, confirmed=True).without_seed()


def has_authenticator_app(user) -> bool:
    return confirmed_authenticator_apps(user).exists()


def has_passkey(user) -> bool:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()


def backup_codes_left(user) -> int:
    return BackupCodeDevice.objects.filter(user=user, confirmed=True, codes__used_at__isnull=True).count()


@dataclass(frozen=True)
class DeviceRow:
    """One line of the devices list: what, since when, last used."""

    key: str  # "<kind>:<pk>", what the remove form sends
    kind: str
    name: str
    created_at: object
    last_used_at: object

    @property
    def kind_label(self):
        return KIND_LABELS[self.kind]


def device_rows(user) -> list[DeviceRow]:
    """The confirmed authenticator apps and passkeys of `user`, oldest first."""
    rows = []
    for model in (AuthenticatorApp, WebAuthnCredential):
        listed = model.objects.filter(user=user, confirmed=True).only("name", "created_at", "last_used_at")
        for device in listed.order_by("created_at", "pk"):
            kind = KINDS[model]
            rows.append(
                DeviceRow(
                    key=f"{kind}:{device.pk}",
                    kind=kind,
                    name=display_name(device),
                    created_at=device.created_at,
                    last_used_at=device.last_used_at,
                )
            )
    return sorted(rows, key=lambda row: row.created_at)


def find_device(user, key: str) -> Device | None:
    """The confirmed authenticator app or passkey of `user` named by `key` ("totp:12"), or None."""
    kind, _colon, pk = key.partition(":")
    model = MODELS.get(kind)
    if model is None or model is BackupCodeDevice or not pk.isdigit():
        return None
    return model.objects.filter(user=user, confirmed=True, pk=int(pk)).only("user", "name").first()
