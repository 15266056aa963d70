from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm, UsernameField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from accounts.models import TokenScope, User
from accounts.services import PERSONAL_FIELDS


class ForgetUsernameOnFailureMixin:
    """After a failed login (or an empty password) the username box comes back empty: people sometimes
    type their password there, and it must not be sent back in the page. Emptied after every failure,
    so that whether it is kept does not tell which usernames exist."""

    def full_clean(self):
        super().full_clean()
        if self.is_bound and self._errors:
            self.data = self.data.copy()
            self.data[self.username_field.name] = ""


class LoginForm(ForgetUsernameOnFailureMixin, AuthenticationForm):
    """Disabled users are told so only after the right password (see accounts.backends.LoginBackend)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "inactive": _("This account is disabled. Ask a lab manager to enable it."),
    }


class AdminLoginForm(ForgetUsernameOnFailureMixin, AdminAuthenticationForm):
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

    class Meta:
        model = User
        fields = PERSONAL_FIELDS
        field_classes = {"username": UsernameField}

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


class ApiTokenForm(forms.Form):
    """A new personal access token (accounts.tokens.token_create checks the same limits)."""

    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("Where it is used, e.g. “CI inventory”."))
    scope = forms.ChoiceField(
        label=_("Scope"), choices=TokenScope.choices, initial=TokenScope.READ, widget=forms.RadioSelect
    )
    expires_in_days = forms.IntegerField(label=_("Expires in (days)"), min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        days = self.fields["expires_in_days"]
        days.max_value = settings.API_TOKEN_MAX_DAYS
        days.validators.append(MaxValueValidator(settings.API_TOKEN_MAX_DAYS))
        days.initial = settings.API_TOKEN_DEFAULT_DAYS
        days.help_text = _("At most %(max)d.") % {"max": settings.API_TOKEN_MAX_DAYS}
