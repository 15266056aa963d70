from django import forms
from django.utils.translation import gettext_lazy as _

from access_requests.querysets import requestable_vms
from machines.forms import AccessEndField
from machines.models import VirtualMachine

PURPOSE_WIDGET = forms.Textarea(attrs={"rows": 3, "maxlength": 2000})


class RequestForm(forms.Form):
    purpose = forms.CharField(
        label=_("What for"),
        max_length=2000,
        widget=PURPOSE_WIDGET,
        help_text=_("E.g. your thesis or course, and what you will run: the managers decide from this."),
    )
    until = AccessEndField(
        date_only=True, label=_("Until when"), help_text=_("The last day you need it (e.g. your defence).")
    )
    vm = forms.ModelChoiceField(
        label=_("A particular shared VM (optional)"),
        queryset=VirtualMachine.objects.none(),
        required=False,
        empty_label=_("Any VM a manager can give"),
        error_messages={"invalid_choice": _("Choose a VM from the list, or any.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vm"].queryset = requestable_vms()
        self.fields["vm"].label_from_instance = lambda vm: f"{vm.name} ({vm.owner.username})"


class ExtensionForm(forms.Form):
    until = AccessEndField(date_only=True, label=_("New end"), help_text=_("The last day you need the VM."))
    purpose = forms.CharField(label=_("Why"), max_length=2000, widget=PURPOSE_WIDGET)


class ApproveForm(forms.Form):
    vm = forms.ModelChoiceField(
        label=_("VM to assign"),
        queryset=VirtualMachine.objects.none(),
        empty_label=_("Choose one of the VMs you may assign"),
        error_messages={"invalid_choice": _("Choose one of the VMs you may assign.")},
    )
    until = AccessEndField(label=_("Until"), help_text=_("The VM disappears from their dashboard at that moment."))
    note = forms.CharField(
        label=_("Note to the requester (optional)"), max_length=2000, required=False, widget=PURPOSE_WIDGET
    )

    def __init__(self, *args, actor, access_request, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("until", access_request.until)
        super().__init__(*args, **kwargs)
        if access_request.kind == access_request.Kind.EXTENSION:
            del self.fields["vm"]
            return
        vms = VirtualMachine.objects.assignable_by(actor).for_list()
        self.fields["vm"].queryset = vms
        self.fields["vm"].label_from_instance = _vm_label
        if access_request.vm_id and vms.filter(pk=access_request.vm_id).exists():
            self.fields["vm"].initial = access_request.vm_id


def _vm_label(vm: VirtualMachine) -> str:
    if vm.assignment_running:
        return _("%(name)s (now assigned to %(user)s)") % {"name": vm.name, "user": vm.assigned_to.username}
    return vm.name


class DenyForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=PURPOSE_WIDGET,
        help_text=_("The requester reads it in the e-mail and on their dashboard."),
        error_messages={"required": _("Say why the request is denied: the requester will read it.")},
    )
