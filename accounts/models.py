import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from access.roles import Role
from accounts.managers import UserManager

__all__ = ["Role", "User"]


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

    REQUIRED_FIELDS = ["email"]

    objects = UserManager()

    class Meta:
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

    def _get_session_auth_hash(self, secret=None):
        # Django ties a session to the password hash, so changing the password ends the other sessions; the
        # generation does the same for disabling, even if the user is enabled again. Django has no public hook
        # for this: get_session_auth_hash() and get_session_auth_fallback_hash() (SECRET_KEY_FALLBACKS) both
        # call this method, and overriding it is the only way to cover both.
        key_salt = "accounts.User.get_session_auth_hash"
        value = f"{self.password}:{self.session_generation}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    def get_absolute_url(self):
        """The person's page among the user pages (people app), for managers and admins."""
        return reverse("people:user_detail", args=[self.pk])

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
