import zoneinfo

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm, PasswordResetForm, UsernameField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts import language
from accounts.models import TokenScope, User
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


class SignInProblemMixin:
    """A backend that could not decide (the directory is down) or that refused for a reason the user must know
    (local sign-in turned off, an e-mail address already taken) leaves `sign_in_problem` on the request: the form
    says that instead of "wrong password"."""

    def get_invalid_login_error(self):
        problem = getattr(self.request, "sign_in_problem", None)
        if problem:
            return ValidationError(problem, code="sign_in_problem")
        return super().get_invalid_login_error()


ACCESS_ENDED = _("This account's access has ended. Ask a lab manager to extend it.")


class AccessEndedMixin:
    """An account whose access has expired cannot log in; told so only after the right password, like "disabled"
    (accounts.backends.LoginBackend). The end is compared with the database's clock, as everywhere."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if User.objects.access_ended().filter(pk=user.pk).exists():
            raise ValidationError(ACCESS_ENDED, code="access_ended")


class LoginForm(ForgetUsernameOnFailureMixin, SignInProblemMixin, AccessEndedMixin, AuthenticationForm):
    """Disabled users are told so only after the right password (see accounts.backends.LoginBackend)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "inactive": _("This account is disabled. Ask a lab manager to enable it."),
    }


class AdminLoginForm(ForgetUsernameOnFailureMixin, SignInProblemMixin, AccessEndedMixin, AdminAuthenticationForm):
    pass


class SecondFactorForm(forms.Form):
    otp_token = forms.CharField(
        label=_("Code"),
        max_length=32,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
        help_text=_("The 6-digit code of your authenticator app, or one of your backup codes."),
        error_messages={"required": _("Enter the code.")},
    )


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

    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        help_text=_("The pages and the e-mails you get. Empty: your browser's language."),
    )

    class Meta:
        model = User
        fields = PROFILE_FIELDS
        field_classes = {"username": UsernameField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zones = sorted(zoneinfo.available_timezones())
        self.fields["time_zone"].choices = [("", _("The lab's time zone")), *((zone, zone) for zone in zones)]
        self.fields["language"].choices = [("", _("Your browser's language")), *settings.LANGUAGES]
        if not self.instance.has_local_password:
            # The directory or the OIDC provider keeps these, and VM Lab takes them from it at each sign-in.
            for name in PERSONAL_FIELDS:
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Kept by your institution's account.")
            del self.fields["current_password"]

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


class ConfirmIdentityForm(forms.Form):
    """The password and code of accounts.identity.confirm_identity, each shown only when this user has one."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "current-password"}),
    )
    otp_token = forms.CharField(
        label=_("Code"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
        help_text=_("From your authenticator app, or one of your backup codes."),
    )

    def __init__(self, *args, needs_password: bool, needs_code: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not needs_password:
            del self.fields["password"]
        if not needs_code:
            del self.fields["otp_token"]


class RemoveDeviceForm(ConfirmIdentityForm):
    device = forms.CharField(widget=forms.HiddenInput)


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


class AccountLanguagePasswordResetForm(PasswordResetForm):
    """The reset e-mail in the account's own language (their profile), else in the language of the page that asked."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        with language.for_user(context["user"], default=translation.get_language()):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)
