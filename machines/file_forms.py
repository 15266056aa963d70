"""The forms of the import and export pages: which file, in which format, matched how, for whom."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from access import rights
from machines.imports import MATCH_ADDRESS, MATCHES
from machines.vm_files.columns import FORMATS, format_for_filename
from vmlab.core.numbers import grouped
from vmlab.core.sizes import file_size

NO_FORMAT = _("VM Lab cannot tell the format of “%(name)s” from its name: choose it.")


class VirtualMachineImportForm(forms.Form):
    """The file and the options of an import. Admins may import for another owner."""

    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.json,.yaml,.yml,.conf,.ssh-config,text/*"}),
    )
    format = forms.ChoiceField(
        label=_("Format"),
        required=False,
        choices=[("", _("Tell from the file name (.csv, .json, .yaml, config)")), *FORMATS.items()],
    )
    match = forms.ChoiceField(
        label=_("A row is the VM with the same"),
        choices=list(MATCHES.items()),
        initial=MATCH_ADDRESS,
        widget=forms.RadioSelect,
        help_text=_("Matching by name lets a file change a VM's host, port or username."),
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("Me"),
        help_text=_("Whose VMs the rows are, unless a row names its owner."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("At most %(size)s and %(rows)s VMs.") % {
            "size": file_size(settings.MAX_REQUEST_BODY),
            "rows": grouped(settings.IMPORT_MAX_ROWS),
        }
        if rights.ADMINISTER.granted_to(user):
            self.fields["owner"].queryset = (
                get_user_model().objects.with_right(rights.OWN_VMS).exclude(pk=user.pk).order_by("username")
            )
        else:
            del self.fields["owner"]

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is not None and not cleaned.get("format"):
            detected = format_for_filename(upload.name)
            if detected is None:
                self.add_error("format", ValidationError(NO_FORMAT, params={"name": upload.name}))
            cleaned["format"] = detected
        return cleaned


class VirtualMachineExportForm(forms.Form):
    format = forms.ChoiceField(label=_("Format"), choices=list(FORMATS.items()), widget=forms.RadioSelect)
