"""Asking for a VM or for more time (regular users and sidekicks), and the managers' queue where they decide."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from access import rights
from access.checks import allowed, requires
from access_requests import services
from access_requests.forms import ApproveForm, DenyForm, ExtensionForm, RequestForm
from access_requests.models import AccessRequest
from audit.context import for_request
from machines.models import VirtualMachine
from machines.views.common import add_service_errors
from vmlab.core.pagination import paginate


def _request_for(request, pk, verb) -> AccessRequest:
    return get_object_or_404(verb(request.user).select_related("requester", "vm", "decided_by", "granted_vm"), pk=pk)


@require_http_methods(["GET", "POST"])
@requires(rights.REQUEST_VMS)
def request_create(request):
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.request_create(
                requester=request.user,
                purpose=data["purpose"],
                until=data["until"],
                vm=data["vm"],
                context=for_request(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Your request was sent to the lab's managers: you will get an e-mail."))
            return redirect("access_requests:mine")
    return render(request, "access_requests/request_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
@requires(rights.REQUEST_VMS)
def request_extension(request, pk):
    """Ask for more time on a VM assigned to the user (pk is the VM's)."""
    vm = get_object_or_404(
        VirtualMachine.objects.assigned_to_user(request.user).filter(assigned_until__isnull=False).for_list(), pk=pk
    )
    form = ExtensionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_extension(
                requester=request.user,
                vm=vm,
                until=form.cleaned_data["until"],
                purpose=form.cleaned_data["purpose"],
                context=for_request(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("You asked for more time on “%(name)s”: you will get an e-mail.") % {"name": vm.name}
            )
            return redirect("access_requests:mine")
    return render(request, "access_requests/extension_form.html", {"form": form, "vm": vm})


@require_safe
@requires(rights.USE_PORTAL)
def my_requests(request):
    requests = AccessRequest.objects.made_by(request.user).select_related("vm", "granted_vm", "decided_by")
    return render(
        request,
        "access_requests/my_requests.html",
        {"page_obj": paginate(request, requests), "can_request": rights.REQUEST_VMS.granted_to(request.user)},
    )


@require_safe
@requires(rights.ASSIGN_VMS)
def queue(request):
    waiting = AccessRequest.objects.queue_for(request.user).select_related("requester", "vm")
    return render(request, "access_requests/queue.html", {"page_obj": paginate(request, waiting)})


def _detail_page(request, access_request, *, approve_form=None, deny_form=None, status=200):
    user = request.user
    decidable = access_request.is_pending and allowed(AccessRequest.objects.decidable_by, user, access_request)
    context = {
        "access_request": access_request,
        "decidable": decidable,
        "withdrawable": allowed(AccessRequest.objects.withdrawable_by, user, access_request),
    }
    if decidable:
        context["approve_form"] = approve_form or ApproveForm(actor=user, access_request=access_request)
        context["deny_form"] = deny_form or DenyForm()
    return render(request, "access_requests/request_detail.html", context, status=status)


@require_safe
def request_detail(request, pk):
    return _detail_page(request, _request_for(request, pk, AccessRequest.objects.visible_to))


@require_POST
def request_approve(request, pk):
    access_request = _request_for(request, pk, AccessRequest.objects.decidable_by)
    form = ApproveForm(request.POST, actor=request.user, access_request=access_request)
    if form.is_valid():
        try:
            services.request_approve(
                request=access_request,
                actor=request.user,
                vm=form.cleaned_data.get("vm"),
                until=form.cleaned_data["until"],
                note=form.cleaned_data["note"],
                context=for_request(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            message = _("Approved: %(user)s has “%(vm)s” until the chosen end, and is told by e-mail.")
            messages.success(request, message % {"user": access_request.requester, "vm": access_request.granted_vm})
            return redirect("access_requests:queue")
    return _detail_page(request, access_request, approve_form=form, status=400)


@require_POST
def request_deny(request, pk):
    access_request = _request_for(request, pk, AccessRequest.objects.decidable_by)
    form = DenyForm(request.POST)
    if form.is_valid():
        try:
            services.request_deny(
                request=access_request,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                context=for_request(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Denied: %(user)s is told why by e-mail.") % {"user": access_request.requester})
            return redirect("access_requests:queue")
    return _detail_page(request, access_request, deny_form=form, status=400)


@require_POST
def request_withdraw(request, pk):
    access_request = _request_for(request, pk, AccessRequest.objects.visible_to)
    try:
        services.request_withdraw(request=access_request, actor=request.user, context=for_request(request))
    except (ValidationError, PermissionDenied) as refusal:
        messages.error(request, " ".join(getattr(refusal, "messages", [str(refusal)])))
    else:
        messages.success(request, _("Your request was withdrawn."))
    return redirect("access_requests:mine")
