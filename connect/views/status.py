"""A VM's live status: "Check now" queues a probe for the task queue's worker; the page polls the stored result.

Neither view connects to the VM: the probe runs in the worker (connect.tasks.probe_vm), never inside a request.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from connect import services
from connect.status import status_badge, status_of
from machines.models import VirtualMachine
from machines.views.common import get_vm
from vmlab.core.redirects import safe_next


@require_POST
def check_status(request, pk):
    """Queue a probe (connect.services.vm_status_check_request, which counts it against SSH_CONNECT_RATE_LIMIT)."""
    vm = get_vm(request, pk, VirtualMachine.objects.visible_to)
    back = redirect(safe_next(request, reverse("machines:detail", args=[vm.pk])))
    try:
        services.vm_status_check_request(vm=vm, actor=request.user)
    except services.TooManyConnections as refusal:
        messages.error(request, refusal.message)
        return back
    messages.info(
        request,
        _("A check of “%(name)s” is queued: its result shows on its page in a few seconds.") % {"name": vm.name},
    )
    return back


@require_safe
def status(request, pk):
    """The status card's content, for the page to refresh itself while a check is queued (static/js/vmlab.js)."""
    vm = get_vm(request, pk, VirtualMachine.objects.visible_to)
    current = status_of(vm)
    context = {"status": current, "badge": status_badge(current), "vm": vm}
    response = render(request, "connect/includes/vm_status_body.html", context)
    response["X-Status-Queued"] = "true" if current.queued else "false"
    response["Cache-Control"] = "no-store"
    return response
