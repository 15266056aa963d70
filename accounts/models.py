import secrets
import time
import zoneinfo
from base64 import b32encode
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, DeviceManager, TimestampMixin
from django_otp.oath import TOTP

from access import rights
from access.roles import Role
from accounts.managers import UserManager
from vmlab.core.fields import EncryptedFieldsQuerySet, EncryptedTextField

__all__ = [
    "ApiToken",
    "AuthenticatorApp",
    "BackupCode",
    "BackupCodeDevice",
    "Role",
    "SignIn",
    "TokenScope",
    "User",
]


class SignIn(models.TextChoices):
    """Where an account's password lives, and so how it signs in."""

    LOCAL = "local", _("VM Lab password")
    LDAP = "ldap", _("Directory (LDAP)")
    OIDC = "oidc", _("OpenID Connect")


def validate_time_zone(value: str) -> None:
    if value and value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(zone)s is not a time zone, e.g. Europe/Paris."), params={"zone": value})


class User(AbstractUser):
    email = models.EmailField(_("e-mail address"))
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Disabled users cannot log in. Use the Disable / Enable actions of the user list."),
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.NEW_USER, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Raised to end every open session of the user at once (when they are disabled).
    session_generation = models.PositiveIntegerField(_("session generation"), default=0, editable=False)
    sign_in = models.CharField(
        _("signs in with"),
        max_length=8,
        choices=SignIn.choices,
        default=SignIn.LOCAL,
        help_text=_("Directory and OpenID Connect accounts have no password in VM Lab."),
    )
    # The OpenID Connect provider's `sub` claim: the only thing an OIDC sign-in is matched by.
    oidc_subject = models.CharField(_("OpenID Connect subject"), max_length=255, unique=True, null=True, blank=True)
    # From this moment the account has no access at all, as if disabled (access.rights), but nothing is changed:
    # setting a later date (or none) gives it back. Set by managers and admins (people.services).
    access_expires_at = models.DateTimeField(
        _("access expires at"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("From then on the account cannot log in and sees nothing. Empty: no end."),
    )
    # Dates and times on the pages and in e-mails, for this user; empty: the site's TIME_ZONE.
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, default="", validators=[validate_time_zone])
    # The pages and e-mails in this language; empty: the browser's (Accept-Language), else LANGUAGE_CODE.
    language = models.CharField(_("language"), max_length=8, blank=True, default="", choices=settings.LANGUAGES)

    REQUIRED_FIELDS = ["email"]

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(
                Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_message=_("A user with that username already exists."),
            ),
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                violation_error_message=_("A user with that e-mail address already exists."),
            ),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="accounts_user_role_valid"),
            # Django admin access follows the role even for writes that skip save() (update, loaddata).
            models.CheckConstraint(
                condition=models.Q(role=Role.ADMIN, is_staff=True, is_superuser=True)
                | (~models.Q(role=Role.ADMIN) & models.Q(is_staff=False, is_superuser=False)),
                name="accounts_user_admin_flags_follow_role",
            ),
        ]

    def _sync_admin_flags(self):
        # The Django admin is for admins only: its flags follow the role and are never set by hand.
        self.is_staff = self.is_superuser = self.role == Role.ADMIN

    def clean(self):
        super().clean()
        self._sync_admin_flags()

    def save(self, *args, **kwargs):
        self._sync_admin_flags()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "role" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_staff", "is_superuser"}
        super().save(*args, **kwargs)

    # Django ties a session to the password hash, so changing the password ends the other sessions; the generation
    # does the same for disabling, even if the user is enabled again. Both of Django's hooks hash the same way,
    # with SECRET_KEY and with each of SECRET_KEY_FALLBACKS (sessions signed before a key rotation stay valid).

    def get_session_auth_hash(self):
        return self._session_hash(settings.SECRET_KEY)

    def get_session_auth_fallback_hash(self):
        for fallback in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(fallback)

    def _session_hash(self, secret: str) -> str:
        value = f"{self.password}:{self.session_generation}"
        return salted_hmac("accounts.User.get_session_auth_hash", value, secret=secret, algorithm="sha256").hexdigest()

    # The person's page among the user pages (people app), for managers and admins: its URL takes the pk alone, so
    # lists build their links from one reverse (vmlab.core.rows.PkUrl).
    detail_url_name = "people:user_detail"

    def get_absolute_url(self):
        return reverse(self.detail_url_name, args=[self.pk])

    @property
    def has_local_password(self) -> bool:
        """Whether VM Lab itself checks this account's password (not the directory, not an OIDC provider)."""
        return self.sign_in == SignIn.LOCAL

    @property
    def disabled(self) -> bool:
        return not self.is_active

    @property
    def access_expired(self) -> bool:
        """Whether the account's access has ended, by this process's clock (the database's: UserQuerySet)."""
        return self.access_expires_at is not None and self.access_expires_at <= timezone.now()

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The user's time zone: their own choice, else the site's."""
        return zoneinfo.ZoneInfo(self.time_zone) if self.time_zone else timezone.get_default_timezone()

    @property
    def is_approved(self) -> bool:
        return self.role != Role.NEW_USER

    def role_at_least(self, role) -> bool:
        return Role.rank(self.role) >= Role.rank(role)


class BackupCodeDevice(Device):
    """A user's set of single-use backup codes, for when the phone or the passkey is not at hand.

    A django-otp device of its own rather than django-otp's static tokens, which are stored as typed: only a
    SHA-256 of each code is kept here (each code holds 80 random bits, so a plain hash cannot be reversed). The
    codes are checked and used up by accounts.two_factor.services, which records each use.
    """

    class Meta:
        verbose_name = _("backup codes")
        verbose_name_plural = _("backup codes")

    def verify_token(self, token):
        # Only accounts.two_factor.services.backup_code_use may use a code up (and record it).
        return False


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(_("SHA-256 of the code"), max_length=64)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("backup code")
        verbose_name_plural = _("backup codes")
        constraints = [models.UniqueConstraint(fields=["device", "code_hash"], name="accounts_backup_code_unique")]

    def __str__(self):
        return f"backup code #{self.pk} of {self.device.user}"  # never the code, which is not stored anyway


# The name authenticator apps show above the account's codes.
AUTHENTICATOR_ISSUER = "VM Lab"


def new_seed() -> str:
    """A fresh authenticator-app seed: 20 random bytes (160 bits, as RFC 4226 recommends), as 40 hex digits."""
    return secrets.token_hex(20)


class AuthenticatorAppQuerySet(EncryptedFieldsQuerySet):
    def without_seed(self):
        """For lists and checks of what a user has: the seed is not even loaded, so never decrypted."""
        return self.defer("seed")

    def administrable_by(self, user):
        """Every user's apps for an admin, in the Django admin (a list: without their seeds)."""
        return self.without_seed() if rights.ADMINISTER.granted_to(user) else self.none()


class AuthenticatorApp(TimestampMixin, Device):
    """An authenticator app (TOTP, RFC 6238) of a user, a django-otp device of VM Lab's own.

    Checks codes as django-otp's TOTPDevice does (the time step, t0, digits, the tolerance of steps either side,
    the drift learned from the phone's clock, and `last_t`: a code is accepted once, and never one older than the
    last accepted), but its seed is an EncryptedTextField: encrypted with FIELD_ENCRYPTION_KEYS like a VM's
    password, re-encrypted by rotate_encryption_keys, a Fernet token in the database and in dumps. The seed is
    decrypted only when a code is checked or the set-up page shows the QR code and the secret.

    django-otp's throttling (ThrottlingMixin) is left out: wrong codes count toward the login lockout
    (AXES_FAILURE_LIMIT), which is the limit; a growing delay per device would only refuse the right code typed a
    second after a typo.
    """

    # 40 hex digits (the bytes the app's base32 secret encodes), like TOTPDevice.key.
    seed = EncryptedTextField(_("secret (hex)"), null=False, blank=False, default=new_seed, editable=False)
    step = models.PositiveSmallIntegerField(_("time step (seconds)"), default=30)
    t0 = models.BigIntegerField(_("Unix time of step 0"), default=0)
    digits = models.PositiveSmallIntegerField(_("digits"), choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(_("steps accepted either side"), default=1)
    drift = models.SmallIntegerField(_("steps the phone's clock is off"), default=0)
    last_t = models.BigIntegerField(
        _("step of the last accepted code"),
        default=-1,
        help_text=_("A code is accepted only from a later step: never twice, never an older one."),
    )

    objects = DeviceManager.from_queryset(AuthenticatorAppQuerySet)()

    class Meta(Device.Meta):
        verbose_name = _("authenticator app")

    @property
    def bin_key(self) -> bytes:
        """The seed as bytes (decrypts it)."""
        return bytes.fromhex(self.seed)

    @property
    def base32_seed(self) -> str:
        """The seed as authenticator apps take it, typed or in a QR code: base32 without padding (decrypts it)."""
        return b32encode(self.bin_key).decode().rstrip("=")

    @property
    def config_url(self) -> str:
        """The otpauth:// URI of the set-up QR code (Google Authenticator's Key Uri Format), as TOTPDevice makes it."""
        label = f"{AUTHENTICATOR_ISSUER}:{self.user.get_username()}"
        params = {
            "secret": self.base32_seed,
            "algorithm": "SHA1",
            "digits": self.digits,
            "period": self.step,
            "issuer": AUTHENTICATOR_ISSUER,
        }
        return f"otpauth://totp/{quote(label)}?{urlencode(params, quote_via=quote)}"

    def verify_token(self, token) -> bool:
        """Whether `token` is the app's code now, or within `tolerance` steps either side (after `last_t`). An
        accepted code moves `last_t` and `drift` on and is saved, so it is refused from then on. Call it on a row
        locked with select_for_update, so that the same code sent twice at once is accepted once. Raises
        vmlab.core.crypto.DecryptionError when no key of FIELD_ENCRYPTION_KEYS decrypts the seed."""
        allowed, _reason = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            token = int(token)
        except (TypeError, ValueError):
            return False
        totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
        totp.time = time.time()
        if not totp.verify(token, self.tolerance, self.last_t + 1):
            return False
        self.last_t = totp.t()
        self.drift = totp.drift
        self.set_last_used_timestamp(commit=False)
        # Not the seed: saving it would re-encrypt it on every sign-in.
        self.save(update_fields=["last_t", "drift", "last_used_at"])
        return True


class TokenScope(models.TextChoices):
    READ = "read", _("Read: look, change nothing")
    WRITE = "write", _("Write: everything the account may do")


class ApiTokenQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(user=user)

    def active(self):
        """Tokens that still open the API: not revoked, not expired (the owner's own state is checked apart)."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())

    def revocable_by(self, user):
        """A user's own tokens; admins revoke anyone's in the Django admin (administrable_by)."""
        return self.owned_by(user) if user.is_authenticated else self.none()

    def administrable_by(self, user):
        return self.all() if rights.ADMINISTER.granted_to(user) else self.none()


class ApiToken(models.Model):
    """A personal access token for the REST API. Only the SHA-256 of the token is kept: it is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100)
    digest = models.CharField(_("SHA-256"), max_length=64, unique=True, editable=False)
    # The token's first characters, to tell tokens apart in lists: too short to be of use to anyone.
    prefix = models.CharField(_("starts with"), max_length=16, editable=False)
    scope = models.CharField(_("scope"), max_length=8, choices=TokenScope.choices, default=TokenScope.READ)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(_("last IP address"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.name

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def may_write(self) -> bool:
        return self.scope == TokenScope.WRITE
