"""Optimistic locking of VM edits: a form carries the version of the VM it was opened at.

`VirtualMachine.version` moves on with every change made through machines.services or the admin. A form
posted with an older version was filled in without seeing that change, and saving it would silently undo
it: it is refused and shown again with the user's values, the current ones listed, and the hidden version
brought up to date, so that saving again overwrites the other change deliberately.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from machines.models import VirtualMachine
from machines.querysets import SECRET_FIELDS

VERSION_FIELD = "opened_version"
STALE_VERSION = gettext_lazy(
    "Someone else changed this VM after you opened this form, so nothing was saved. Your values are still "
    "in the form; save again to replace the saved ones with yours."
)
MISSING_VERSION = gettext_lazy(
    "This form is out of date (it was opened before VM Lab was updated, or changed on its way), so nothing "
    "was saved. Check the values below and save again."
)


class StaleVersion(ValidationError):
    """The VM changed after the caller read it: nothing was written.

    `current` is the VM as stored now (secrets not loaded), to show what the other change did.
    """

    def __init__(self, current: VirtualMachine):
        super().__init__(STALE_VERSION, code="stale_version")
        self.current = current


def _shown_value(field: models.Field, value) -> str:
    if value is None:
        return _("nobody") if field.is_relation else _("empty")
    if isinstance(field, models.BooleanField):
        return _("yes") if value else _("no")
    if isinstance(value, str):
        return f"“{value}”"
    return str(value)


class VersionCheckedForm(forms.Form):
    """Mixin for a ModelForm of a VirtualMachine: refuses a save based on an outdated version.

    The check here compares with the instance the form was built with; callers that save must also
    make the write itself conditional on the version (a row lock, or UPDATE ... WHERE version = ...).
    """

    # Not named "version": the admin lists form fields by name, and the model field is not editable.
    opened_version = forms.IntegerField(
        label=gettext_lazy("Version opened"), widget=forms.HiddenInput, required=False, min_value=1, max_value=2**31 - 1
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            del self.fields[VERSION_FIELD]  # a new VM has no earlier version to be overtaken by
        else:
            self.initial[VERSION_FIELD] = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if VERSION_FIELD in self.fields:
            self._check_version(cleaned.get(VERSION_FIELD))
        return cleaned

    def _check_version(self, opened: int | None) -> None:
        # A hidden field's own error would not be shown anywhere: report it above the form instead.
        if self.errors.pop(VERSION_FIELD, None) or opened is None:
            self.add_error(None, ValidationError(MISSING_VERSION, code="missing_version"))
            self._show_version(self.instance.version)
        elif opened != self.instance.version:
            if self._differences(self.instance) or self._changes_secrets():
                self.refuse_as_stale(self.instance)
            else:
                # Everything typed matches what is saved now: the other change cannot be undone by this save.
                self.cleaned_data[VERSION_FIELD] = self.instance.version

    def refuse_as_stale(self, current: VirtualMachine) -> None:
        """Add the stale-version error and what `current` holds now; saving again will overwrite it."""
        self.add_error(None, ValidationError(STALE_VERSION, code="stale_version"))
        self.add_error(None, ValidationError(self._describe_differences(current), code="stale_version_values"))
        self._show_version(current.version)

    def _differences(self, current: VirtualMachine) -> list[str]:
        """ "Field: saved value" for each field whose saved value is not what the user typed."""
        missing = object()
        differences = []
        for name in self._compared_fields():
            field = VirtualMachine._meta.get_field(name)
            now = getattr(current, name)
            if self.cleaned_data.get(name, missing) != now:
                differences.append(f"{capfirst(field.verbose_name)}: {_shown_value(field, now)}")
        return differences

    def _changes_secrets(self) -> bool:
        """Whether the form sets or removes a secret (the admin's WriteOnlySecretsForm.SECRETS). Secrets are
        not compared, as that would decrypt them: such a save is refused whenever the VM changed."""
        inputs = [name for _field, *names in getattr(self, "SECRETS", ()) for name in names]
        return any(self.cleaned_data.get(name) for name in inputs)

    def _describe_differences(self, current: VirtualMachine) -> str:
        differences = self._differences(current)
        if not differences:
            return _("The saved values match yours: the other change was to something this form does not show.")
        return _("The saved values that differ from yours: %(values)s.") % {"values": "; ".join(differences)}

    def _compared_fields(self) -> list[str]:
        """The VM's own fields on this form; never a secret."""
        model_fields = {field.name for field in VirtualMachine._meta.concrete_fields}
        return [name for name in self.fields if name in model_fields and name not in SECRET_FIELDS]

    def _show_version(self, version: int) -> None:
        """Render `version` in the hidden field of the bound form shown again."""
        self.data = self.data.copy()
        self.data[self.add_prefix(VERSION_FIELD)] = str(version)
