from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from access import rights
from access.checks import allowed, requires
from audit.context import for_request
from machines import services
from machines.forms import VirtualMachineAssignForm, VirtualMachineCreateForm, VirtualMachineEditForm
from machines.models import VirtualMachine
from machines.versioning import VERSION_FIELD, StaleVersion
from machines.views.common import add_service_errors, get_vm
from machines.vm_files.sshconfig import entry as ssh_config_entry
from machines.vm_files.sshconfig import host_alias, ssh_command
from vmlab.core.redirects import safe_next


@dataclass(frozen=True)
class VmAction:
    """One button of the detail page: a link to a page, or a POST form when `post` is set."""

    label: str
    url: str
    style: str = ""
    post: bool = False
    fields: tuple[tuple[str, str], ...] = ()  # hidden (name, value) pairs the POST form sends


def vm_actions(vm: VirtualMachine, user, *, editable: bool) -> list[VmAction]:
    """The actions `user` may take on `vm`, decided by the same queryset rules as the pages they lead to;
    `editable`: whether the VM is in VirtualMachine.objects.editable_by(user), which the caller knows already."""

    def url(name):
        return reverse(f"machines:{name}", args=[vm.pk])

    actions = [
        VmAction(_("Open terminal"), reverse("connect:terminal", args=[vm.pk]), "btn-primary"),
        VmAction(_("Files"), reverse("connect:files", args=[vm.pk])),
        VmAction(_("Test connection"), reverse("connect:test_connection", args=[vm.pk]), post=True),
    ]
    if vm.has_password or vm.has_ssh_key:
        actions.append(VmAction(_("Reveal a secret"), url("reveal")))
    if editable:
        actions += [
            VmAction(_("Edit"), url("edit")),
            VmAction(_("Change password") if vm.has_password else _("Set password"), url("password")),
            VmAction(_("Change SSH key") if vm.has_ssh_key else _("Set SSH key"), url("ssh_key")),
            # The button names the state it asks for: pressed on an outdated page, it cannot undo a newer change.
            VmAction(
                _("Make private") if vm.shared else _("Share"),
                url("share"),
                post=True,
                fields=(("shared", "false" if vm.shared else "true"),),
            ),
        ]
    if editable and allowed(VirtualMachine.objects.assignable_by, user, vm):
        actions.append(VmAction(_("Assign"), url("assign")))
    if editable:
        actions.append(VmAction(_("Delete"), url("delete"), "btn-danger"))
    return actions


@sensitive_post_parameters("password", "ssh_key")
@require_http_methods(["GET", "POST"])
@requires(rights.OWN_VMS)
def vm_create(request):
    user = request.user
    form = VirtualMachineCreateForm(request.POST or None, request.FILES or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            vm = services.vm_create(
                actor=user,
                **{name: data[name] for name in services.METADATA_FIELDS},
                password=data["password"],
                ssh_key=data["ssh_key"],
                assigned_to=data.get("assigned_to"),
                context=for_request(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("VM “%(name)s” was created.") % {"name": vm.name})
            return redirect("machines:detail", pk=vm.pk)
    return render(request, "machines/vm_create.html", {"form": form})


HISTORY_SHOWN = 20


@require_safe
def vm_detail(request, pk):
    vm = get_vm(request, pk, VirtualMachine.objects.visible_to)
    editable = allowed(VirtualMachine.objects.editable_by, request.user, vm)
    context = {
        "vm": vm,
        "ssh_command": ssh_command(vm),
        "actions": vm_actions(vm, request.user, editable=editable),
        "host_key_algorithm": vm.host_key.partition(" ")[0],
        "can_reset_host_key": bool(vm.host_key) and editable,
        # Who had the VM, from when to when: for those who may change it (its owner, admins).
        "history": vm.assignments.select_related("user", "assigned_by")[:HISTORY_SHOWN] if editable else None,
        "is_assignee": vm.assignment_running and vm.assigned_to_id == request.user.pk,
    }
    return render(request, "machines/vm_detail.html", context)


@require_http_methods(["GET", "POST"])
def vm_edit(request, pk):
    vm = get_vm(request, pk, VirtualMachine.objects.editable_by)
    # The form copies what was typed onto `vm`, even when invalid: the page title keeps the saved name.
    saved_name = vm.name
    form = VirtualMachineEditForm(request.POST or None, instance=vm)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in services.METADATA_FIELDS}
        try:
            changed = services.vm_update(
                vm=vm,
                actor=request.user,
                expected_version=form.cleaned_data[VERSION_FIELD],
                context=for_request(request),
                **changes,
            )
        except StaleVersion as stale:
            # Changed by someone else after the form's own check: the conditional write caught it.
            form.refuse_as_stale(stale.current)
        except (VirtualMachine.DoesNotExist, PermissionDenied):
            raise Http404 from None  # deleted, or taken out of reach, by someone else while this form was saved
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if changed:
                message = _("VM “%(name)s” was updated.") % {"name": vm.name}
                if services.HOST_KEY_ADDRESS_FIELDS & set(changed):
                    message += " " + _("Its SSH host key will be confirmed again on the next connection.")
                messages.success(request, message)
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("machines:detail", pk=vm.pk)
    return render(request, "machines/vm_edit.html", {"vm": vm, "saved_name": saved_name, "form": form})


@require_http_methods(["GET", "POST"])
def vm_delete(request, pk):
    vm = get_vm(request, pk, VirtualMachine.objects.editable_by)
    if request.method == "POST":
        name = vm.name
        services.vm_delete(vm=vm, actor=request.user, context=for_request(request))
        messages.success(request, _("VM “%(name)s” was deleted.") % {"name": name})
        return redirect("dashboard")
    return render(request, "machines/vm_confirm_delete.html", {"vm": vm})


@require_POST
def vm_share(request, pk):
    vm = get_vm(request, pk, VirtualMachine.objects.editable_by)
    back = redirect(safe_next(request, reverse("machines:detail", args=[vm.pk])))
    wanted = {"true": True, "false": False}.get(request.POST.get("shared", ""))
    if wanted is None:
        messages.error(request, _("Choose whether to share the VM or make it private."))
        return back
    if wanted != vm.shared:
        services.vm_set_shared(vm=vm, actor=request.user, shared=wanted, context=for_request(request))
    if vm.shared:
        message = _("VM “%(name)s” is now shared with the users whose role may see others' VMs.")
    else:
        message = _("VM “%(name)s” is now private.")
    messages.success(request, message % {"name": vm.name})
    return back


@require_http_methods(["GET", "POST"])
def vm_assign(request, pk):
    vm = get_vm(request, pk, VirtualMachine.objects.assignable_by)
    running = vm.assignment_running
    initial = {"assigned_to": vm.assigned_to_id, "assigned_until": vm.assigned_until} if running else {}
    form = VirtualMachineAssignForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        assignee, until = form.cleaned_data["assigned_to"], form.cleaned_data["assigned_until"]
        try:
            services.vm_assign(vm=vm, actor=request.user, assignee=assignee, until=until, context=for_request(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, assignment_message(vm))
            return redirect("machines:detail", pk=vm.pk)
    return render(request, "machines/vm_assign.html", {"vm": vm, "form": form, "running": running})


def assignment_message(vm: VirtualMachine) -> str:
    if vm.assigned_to is None:
        return _("VM “%(name)s” is no longer assigned to anyone.") % {"name": vm.name}
    values = {"name": vm.name, "user": vm.assigned_to}
    if vm.assigned_until is None:
        return _("VM “%(name)s” is now assigned to %(user)s.") % values
    until = date_format(timezone.localtime(vm.assigned_until), "j F Y, H:i")
    return _("VM “%(name)s” is now assigned to %(user)s until %(until)s.") % {**values, "until": until}


@require_safe
def vm_ssh_config(request, pk):
    vm = get_vm(request, pk, VirtualMachine.objects.visible_to)
    response = HttpResponse(ssh_config_entry(vm), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{host_alias(vm)}.ssh-config")
    return response
