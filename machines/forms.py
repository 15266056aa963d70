"""The portal's VM forms. Secrets are write-only: no widget ever renders a stored or typed secret back."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from access import rights
from machines.models import VirtualMachine
from machines.querysets import assignable_users
from machines.services import METADATA_FIELDS
from machines.validators import SSH_KEY_MAX_BYTES, normalize_ssh_key
from machines.versioning import VersionCheckedForm
from vmlab.core.dates import parse_end

NOT_BOTH = _("Either set a new value or remove it, not both.")


class AccessEndField(forms.DateTimeField):
    """When access ends: a date and time (datetime-local), or a date alone, meaning the end of that day. In the
    user's time zone. `date_only` asks for a date (type=date)."""

    def __init__(self, *, date_only: bool = False, **kwargs):
        kind, shown = ("date", "%Y-%m-%d") if date_only else ("datetime-local", "%Y-%m-%dT%H:%M")
        kwargs.setdefault("widget", forms.DateTimeInput(attrs={"type": kind}, format=shown))
        kwargs.setdefault(
            "error_messages", {"invalid": _("Enter a date (YYYY-MM-DD), or a date and time (YYYY-MM-DD HH:MM).")}
        )
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_end(str(value).replace("T", " "))
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


def _end_help(what: str) -> str:
    return gettext("%(what)s Empty: no end. A date alone means the end of that day.") % {"what": what}


# Lazy: a form's help text is built at import time, and must be translated when the form is shown.
end_help = lazy(_end_help, str)


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that comes back empty when the form is shown again, e.g. after an error."""

    def format_value(self, value):
        return None


def _password_input():
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})


def _run_model_validators(field_name: str, value: str) -> None:
    VirtualMachine._meta.get_field(field_name).run_validators(value)


class NewPasswordMixin:
    """Checks a typed VM password with the model's own validators before anything is encrypted."""

    def clean_password(self):
        password = self.cleaned_data["password"]
        if password:
            _run_model_validators("password", password)
        return password


class SshKeyInputForm(forms.Form):
    """An SSH private key pasted as text or uploaded as a file, normalised and validated like the model does."""

    ssh_key = forms.CharField(
        label=_("SSH private key"),
        required=False,
        strip=False,
        widget=WriteOnlyTextarea(attrs={"rows": 6, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_(
            "Paste an unencrypted private key (OpenSSH or PEM), e.g. the contents of ~/.ssh/id_ed25519. "
            "Write-only: never shown again."
        ),
    )
    ssh_key_file = forms.FileField(
        label=_("…or upload the private key file"),
        required=False,
        help_text=_("At most 16 KiB."),
    )

    def clean_ssh_key_file(self):
        upload = self.cleaned_data.get("ssh_key_file")
        if not upload:
            return ""
        if upload.size > SSH_KEY_MAX_BYTES:
            raise ValidationError(
                _("The file is larger than %(limit)s KiB: upload the private key file itself."),
                params={"limit": SSH_KEY_MAX_BYTES // 1024},
            )
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(
                _("The file is not a text file (UTF-8): upload the private key file itself, e.g. ~/.ssh/id_ed25519.")
            ) from None

    def clean_key_input(self, cleaned):
        """Put the normalised key, from whichever input was used, in cleaned["ssh_key"] ("" for none)."""
        pasted, uploaded = cleaned.get("ssh_key") or "", cleaned.get("ssh_key_file") or ""
        if pasted.strip() and uploaded.strip():
            self.add_error("ssh_key_file", _("Paste the key or upload its file, not both."))
            return
        source = "ssh_key" if pasted.strip() else "ssh_key_file"
        key = normalize_ssh_key(pasted or uploaded) if (pasted.strip() or uploaded.strip()) else ""
        if key:
            try:
                _run_model_validators("ssh_key", key)
            except ValidationError as error:
                self.add_error(source, error)
                return
        cleaned["ssh_key"] = key


class VirtualMachineCreateForm(NewPasswordMixin, SshKeyInputForm, forms.ModelForm):
    """A new VM with its optional secrets; managers and admins may also assign it at once."""

    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=_password_input(),
        help_text=_("Optional. Write-only: never shown again; reveal it later with your own password."),
    )

    class Meta:
        model = VirtualMachine
        fields = (*METADATA_FIELDS, "assigned_to")
        labels = {"assigned_to": _("Assign to")}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if "assigned_to" in self.fields:
            self._offer_assignment(user)
        # Secrets last, after the connection details.
        self.order_fields([*METADATA_FIELDS, "assigned_to", "password", "ssh_key", "ssh_key_file"])

    def _offer_assignment(self, user):
        if rights.ASSIGN_VMS.granted_to(user):
            self.fields["assigned_to"].queryset = assignable_users()
            self.fields["assigned_to"].empty_label = _("Nobody")
            self.fields["assigned_to"].help_text = _("An active regular or sidekick user. You stay the owner.")
            self.fields["assigned_to"].error_messages["invalid_choice"] = _(
                "Choose an active regular or sidekick user, or nobody."
            )
        else:
            del self.fields["assigned_to"]

    def clean(self):
        cleaned = super().clean()
        self.clean_key_input(cleaned)
        return cleaned


class VirtualMachineRowForm(VirtualMachineCreateForm):
    """One row of an imported file (machines.imports), checked exactly as the New VM form checks what is typed: the
    same fields, the model's validators, the password's and the SSH key's checks and normalisation.

    Without the assignee, which the import finds by username among the users it loaded once (the choice field would
    ask the database for each row), and without the key upload: a file's key is text in its row.
    """

    ssh_key_file = None

    class Meta(VirtualMachineCreateForm.Meta):
        fields = METADATA_FIELDS

    def __init__(self, data):
        super().__init__(data, user=None)


class _FieldsSharedByRows(dict):
    """The row form's fields, which each form instance would otherwise deep-copy: a quarter of the time a row takes.
    Rows are validated, never rendered, and validating changes no field, so every row can use the same ones."""

    def __deepcopy__(self, memo):
        return dict(self)


VirtualMachineRowForm.base_fields = _FieldsSharedByRows(VirtualMachineRowForm.base_fields)


class VirtualMachineEditForm(VersionCheckedForm, forms.ModelForm):
    """Connection details only: secrets, owner and assignee have their own pages.

    Carries the version the VM was at when the form was opened: a save over someone else's later change is refused.
    """

    class Meta:
        model = VirtualMachine
        fields = METADATA_FIELDS


class VirtualMachinePasswordForm(NewPasswordMixin, forms.Form):
    """Set a new password, or remove it (the page's separate "Remove" button posts remove=1)."""

    password = forms.CharField(
        label=_("New password"),
        required=False,
        strip=False,
        widget=_password_input(),
        help_text=_("Replaces the current password. Write-only: never shown again."),
    )
    remove = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        given = bool(cleaned.get("password")) or self.has_error("password")
        if cleaned.get("remove") and given:
            raise ValidationError(NOT_BOTH)
        if not cleaned.get("remove") and not given:
            self.add_error("password", _("Enter the new password."))
        return cleaned


class VirtualMachineSshKeyForm(SshKeyInputForm):
    """Set a new SSH key (pasted or uploaded), or remove it (a separate button posts remove=1)."""

    remove = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        given = any((cleaned.get(name) or "").strip() or self.has_error(name) for name in ("ssh_key", "ssh_key_file"))
        if cleaned.get("remove"):
            if given:
                raise ValidationError(NOT_BOTH)
            return cleaned
        self.clean_key_input(cleaned)
        if not self.errors and not cleaned.get("ssh_key"):
            self.add_error("ssh_key", _("Paste a private key or upload its file."))
        return cleaned


class VirtualMachineAssignForm(forms.Form):
    assigned_to = forms.ModelChoiceField(
        label=_("Assign to"),
        queryset=assignable_users(),
        required=False,
        empty_label=_("Nobody"),
        help_text=_("An active regular or sidekick user, or nobody."),
        error_messages={"invalid_choice": _("Choose an active regular or sidekick user, or nobody.")},
    )
    assigned_until = AccessEndField(
        label=_("Until"),
        required=False,
        help_text=end_help(_("The VM disappears from their dashboard at that moment; the history keeps it.")),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("assigned_until") and not cleaned.get("assigned_to"):
            self.add_error("assigned_until", _("Choose someone to assign the VM to, or no end."))
        return cleaned


class RevealSecretForm(forms.Form):
    """The secret to reveal, and what confirms who is asking (accounts.identity.confirm_identity): the account's
    password (none for accounts that sign in through OpenID Connect) and, for a user with a second factor, a code."""

    secret = forms.ChoiceField(
        label=_("Secret to reveal"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the secret to reveal.")},
    )
    account_password = forms.CharField(
        label=_("Your VM Lab password"),
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "current-password"}),
        help_text=_("Confirm that it is you: the password you log in with, not the VM's."),
    )
    otp_token = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
        help_text=_("From your authenticator app, or one of your backup codes."),
        error_messages={"required": _("Enter a code of your authenticator app, or one of your backup codes.")},
    )

    def __init__(self, *args, choices, needs_password: bool = True, needs_code: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["secret"].choices = choices
        if choices:
            self.fields["secret"].initial = choices[0][0]
        if not needs_password:
            del self.fields["account_password"]
        if not needs_code:
            del self.fields["otp_token"]
