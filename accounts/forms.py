import zoneinfo

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm, UsernameField
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.services import PERSONAL_FIELDS, PROFILE_FIELDS


class ForgetUsernameOnFailureMixin:
    """After a failed login (or an empty password) the username box comes back empty: people sometimes
    type their password there, and it must not be sent back in the page. Emptied after every failure,
    so that whether it is kept does not tell which usernames exist."""

    def full_clean(self):
        super().full_clean()
        if self.is_bound and self._errors:
            self.data = self.data.copy()
            self.data[self.username_field.name] = ""


ACCESS_ENDED = _("This account's access has ended. Ask a lab manager to extend it.")


class AccessEndedMixin:
    """An account whose access has expired cannot log in; told so only after the right password, like "disabled"
    (accounts.backends.LoginBackend). The end is compared with the database's clock, as everywhere."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if User.objects.access_ended().filter(pk=user.pk).exists():
            raise ValidationError(ACCESS_ENDED, code="access_ended")


class LoginForm(ForgetUsernameOnFailureMixin, AccessEndedMixin, AuthenticationForm):
    """Disabled users are told so only after the right password (see accounts.backends.LoginBackend)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "inactive": _("This account is disabled. Ask a lab manager to enable it."),
    }


class AdminLoginForm(ForgetUsernameOnFailureMixin, AccessEndedMixin, AdminAuthenticationForm):
    pass


class UniquePersonalFieldsMixin:
    """Usernames and e-mail addresses are unique whatever their case: say so on the field, not with an error page."""

    def _taken(self, field: str, value: str) -> bool:
        others = User.objects.filter(**{f"{field}__iexact": value})
        if self.instance.pk is not None:
            others = others.exclude(pk=self.instance.pk)
        return others.exists()

    def clean_username(self):
        username = self.cleaned_data["username"]
        if self._taken("username", username):
            raise ValidationError(_("This username is already taken."), code="unique")
        return username

    def clean_email(self):
        email = self.cleaned_data["email"]
        if self._taken("email", email):
            raise ValidationError(_("An account with this e-mail address already exists."), code="unique")
        return email


class RegistrationForm(UniquePersonalFieldsMixin, BaseUserCreationForm):
    class Meta:
        model = User
        fields = PERSONAL_FIELDS
        field_classes = {"username": UsernameField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True


class ProfileForm(UniquePersonalFieldsMixin, forms.ModelForm):
    """Profile settings. A new e-mail address or username needs the current password: password resets
    go to the address, and the name is what logs in, so whoever borrowed an open session must not be
    able to change either."""

    NEEDS_PASSWORD = ("username", "email")

    current_password = forms.CharField(
        label=_("Current password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Needed only to change your username or e-mail address."),
    )

    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        help_text=_("Dates and times on the pages and in e-mails. Empty: the lab's time zone."),
    )

    class Meta:
        model = User
        fields = PROFILE_FIELDS
        field_classes = {"username": UsernameField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zones = sorted(zoneinfo.available_timezones())
        self.fields["time_zone"].choices = [("", _("The lab's time zone")), *((zone, zone) for zone in zones)]

    def clean(self):
        cleaned = super().clean()
        if not set(self.NEEDS_PASSWORD) & set(self.changed_data):
            return cleaned
        typed = cleaned.get("current_password", "")
        if not typed:
            message = _("Enter your current password to change your username or e-mail address.")
            self.add_error("current_password", ValidationError(message, code="required"))
        elif not self.instance.check_password(typed):
            message = _("Your current password is not correct.")
            self.add_error("current_password", ValidationError(message, code="password_incorrect"))
        return cleaned
