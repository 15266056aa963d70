"""The Django admin's VM form: metadata, and secrets that can be set or removed but never shown."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from machines import services
from machines.forms import NOT_BOTH, WriteOnlyTextarea
from machines.models import VirtualMachine
from machines.validators import normalize_ssh_key
from machines.versioning import VersionCheckedForm


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
        help_text=_("Write-only: never shown again, even after a form error. Leave empty to keep the current one."),
    )
    remove_password = forms.BooleanField(label=_("Remove the password"), required=False)
    new_ssh_key = forms.CharField(
        label=_("Set a new SSH private key"),
        required=False,
        strip=False,
        widget=WriteOnlyTextarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_(
            "An unencrypted private key (OpenSSH or PEM). Write-only: never shown again, even after a form "
            "error. Leave empty to keep the current one."
        ),
    )
    remove_ssh_key = forms.BooleanField(label=_("Remove the SSH key"), required=False)

    SECRETS = (("password", "new_password", "remove_password"), ("ssh_key", "new_ssh_key", "remove_ssh_key"))

    class Meta:
        model = VirtualMachine
        fields = ("name", "host", "port", "username", "shared", "owner", "assigned_to", "assigned_until")

    def clean_new_ssh_key(self):
        key = self.cleaned_data["new_ssh_key"]
        return normalize_ssh_key(key) if key.strip() else ""

    def clean(self):
        cleaned = super().clean()
        for field_name, new_name, remove_name in self.SECRETS:
            new_value = cleaned.get(new_name)
            if new_value and cleaned.get(remove_name):
                self.add_error(remove_name, NOT_BOTH)
            elif new_value:
                try:
                    VirtualMachine._meta.get_field(field_name).run_validators(new_value)
                except ValidationError as error:
                    self.add_error(new_name, error)
        return cleaned


class VirtualMachineAdminForm(VersionCheckedForm, WriteOnlySecretsForm):
    """The admin may fix anything, but a new owner or assignee must fit PRODUCT.md §3.

    A change form opened before someone else's change is refused (VersionCheckedForm); VirtualMachineAdmin
    locks the row while the form is checked and saved, and moves the version on.
    """

    def clean_owner(self):
        owner = self.cleaned_data["owner"]
        if "owner" in self.changed_data:
            _on_field(services.check_owner, owner)
        return owner

    def clean_assigned_to(self):
        assignee = self.cleaned_data["assigned_to"]
        if "assigned_to" in self.changed_data:
            _on_field(services.check_assignee, assignee)
        return assignee

    def clean_assigned_until(self):
        until = self.cleaned_data["assigned_until"]
        if until is not None and self.cleaned_data.get("assigned_to") is None:
            raise ValidationError(_("Choose someone to assign the VM to, or no end."))
        if "assigned_until" in self.changed_data:
            _on_field(services.check_assignment_end, until)
        return until

    def secret_changes(self) -> dict:
        """What to do with each secret, as machines.services.vm_update takes it: a new value, or None to remove."""
        changes = {}
        for field_name, new_name, remove_name in self.SECRETS:
            if self.cleaned_data.get(new_name):
                changes[field_name] = self.cleaned_data[new_name]
            elif self.cleaned_data.get(remove_name):
                changes[field_name] = None
        return changes


def _on_field(check, value) -> None:
    """Run a service's check, its ValidationError({field: ...}) reported on that field."""
    try:
        check(value)
    except ValidationError as error:
        raise ValidationError(next(iter(error.error_dict.values()))) from None
