from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from access.roles import Role
from accounts.managers import UserManager

__all__ = ["Role", "User"]


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
    def disabled(self) -> bool:
        return not self.is_active

    @property
    def is_approved(self) -> bool:
        return self.role != Role.NEW_USER

    def role_at_least(self, role) -> bool:
        return Role.rank(self.role) >= Role.rank(role)
