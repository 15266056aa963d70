"""The connection test of a VM, and confirming or resetting the SSH host key it stores (connect.services)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from access.checks import allowed
from audit.context import for_request
from connect import services
from connect.ssh import FINGERPRINT_FORMAT, ConnectError
from machines import services as machine_services
from machines.models import VirtualMachine
from machines.views.common import get_vm


def _test_page(request, vm, *, status: int = 200, **context):
    return render(request, "connect/test_connection.html", {"vm": vm, **context}, status=status)


def _run_test(request, vm: VirtualMachine):
    """Connect and log in with the stored credentials, and show the result step by step."""
    try:
        test = services.vm_connection_test(vm=vm, actor=request.user, context=for_request(request))
    except services.TooManyConnections as error:
        return _test_page(request, vm, status=429, error=error.message)
    can_reset_host_key = test.host_key_changed and allowed(VirtualMachine.objects.editable_by, request.user, vm)
    return _test_page(request, vm, test=test, can_reset_host_key=can_reset_host_key)


@require_http_methods(["GET", "POST"])
def test_connection(request, pk):
    """GET shows the page with its button; only the POST connects (a link, a reload or a crawler does not)."""
    vm = get_vm(request, pk, VirtualMachine.objects.visible_to)
    if request.method == "GET":
        return _test_page(request, vm)
    return _run_test(request, vm)


@require_POST
def trust_host_key(request, pk):
    vm = get_vm(request, pk, VirtualMachine.objects.visible_to)
    back = redirect("machines:detail", pk=vm.pk)
    confirmed = request.POST.get("fingerprint", "").strip()
    if not FINGERPRINT_FORMAT.fullmatch(confirmed):
        messages.error(
            request,
            _(
                "No valid host key fingerprint was sent, so nothing was stored: test the connection again and confirm "
                "the key it shows."
            ),
        )
        return back
    if vm.host_key:
        message = _("“%(name)s” already has a trusted host key (%(fingerprint)s): nothing was changed.")
        messages.info(request, message % {"name": vm.name, "fingerprint": vm.host_key_fingerprint})
        return back
    try:
        stored = services.vm_host_key_confirm(
            vm=vm, actor=request.user, confirmed=confirmed, context=for_request(request)
        )
    except services.TooManyConnections as error:
        messages.error(request, error.message)
    except ConnectError as error:
        messages.error(
            request, _("Could not fetch the host key, nothing was stored: %(reason)s") % {"reason": error.message}
        )
    except (services.OtherKeyOffered, machine_services.HostKeyConflict) as refused:
        messages.error(request, str(refused))
    except PermissionDenied:
        raise Http404 from None  # taken out of the user's reach meanwhile
    else:
        if stored:
            messages.success(request, _("Host key %(fingerprint)s trusted.") % {"fingerprint": confirmed})
            # Straight on to the login the key was confirmed for, so the user sees whether it works.
            return _run_test(request, vm)
        message = _("Host key %(fingerprint)s was already trusted: nothing was changed.")
        messages.info(request, message % {"fingerprint": confirmed})
    return back


@require_http_methods(["GET", "POST"])
def reset_host_key(request, pk):
    vm = get_vm(request, pk, VirtualMachine.objects.editable_by)
    back = redirect("machines:detail", pk=vm.pk)
    if not vm.host_key_fingerprint:
        _say_no_key_stored(request, vm)
        return back
    if request.method == "GET":
        return render(request, "connect/host_key_reset.html", {"vm": vm, "algorithm": vm.host_key.partition(" ")[0]})
    try:
        old = machine_services.vm_host_key_reset(vm=vm, actor=request.user, context=for_request(request))
    except PermissionDenied:
        raise Http404 from None
    if old:
        message = _(
            "The host key %(fingerprint)s of “%(name)s” was forgotten: the next connection will show the server's "
            "key for you to confirm."
        )
        messages.success(request, message % {"fingerprint": old, "name": vm.name})
    else:
        _say_no_key_stored(request, vm)  # reset by someone else since the page was shown
    return back


def _say_no_key_stored(request, vm: VirtualMachine) -> None:
    message = _("“%(name)s” has no stored host key: it will be confirmed on the next connection.")
    messages.info(request, message % {"name": vm.name})
