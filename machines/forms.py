from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from machines.models import VirtualMachine
from machines.validators import normalize_ssh_key


class WriteOnlySecretsForm(forms.ModelForm):
    """A VM form whose secrets can be set or removed but are never rendered back.

    The stored password and key are not form fields at all, so no widget can show them; the
    model's own validators check what is typed before it is encrypted.
    """

    new_password = forms.CharField(
        label=_("Set a new password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the current password."),
    )
    remove_password = forms.BooleanField(label=_("Remove the password"), required=False)
    new_ssh_key = forms.CharField(
        label=_("Set a new SSH private key"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_("Paste an unencrypted private key (OpenSSH or PEM). Leave empty to keep the current key."),
    )
    remove_ssh_key = forms.BooleanField(label=_("Remove the SSH key"), required=False)

    SECRETS = (("password", "new_password", "remove_password"), ("ssh_key", "new_ssh_key", "remove_ssh_key"))

    class Meta:
        model = VirtualMachine
        fields = ("name", "host", "port", "username", "shared", "owner", "assigned_to")

    def clean_new_ssh_key(self):
        key = self.cleaned_data["new_ssh_key"]
        return normalize_ssh_key(key) if key.strip() else ""

    def clean(self):
        cleaned = super().clean()
        for field_name, new_name, remove_name in self.SECRETS:
            new_value = cleaned.get(new_name)
            if new_value and cleaned.get(remove_name):
                self.add_error(remove_name, _("Either set a new value or remove it, not both."))
            elif new_value:
                try:
                    VirtualMachine._meta.get_field(field_name).run_validators(new_value)
                except ValidationError as error:
                    self.add_error(new_name, error)
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        for field_name, new_name, remove_name in self.SECRETS:
            if self.cleaned_data.get(new_name):
                setattr(self.instance, field_name, self.cleaned_data[new_name])
            elif self.cleaned_data.get(remove_name):
                setattr(self.instance, field_name, None)
