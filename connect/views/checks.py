"""The connection test of a VM, and confirming or resetting the SSH host key it stores (connect.services)."""

import logging
import time

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from audit.context import for_request
from audit.models import Action
from audit.services import audit_record
from connect import services
from connect.checks import STEP_LABELS, host_key_file, offered_key, server_version, step_results
from connect.ssh import FINGERPRINT_FORMAT, ConnectError, FailureKind, Target, fingerprint, key_algorithm
from connect.targets import target_for
from machines import services as machine_services
from machines.models import VirtualMachine
from machines.views.common import get_vm

logger = logging.getLogger(__name__)


def _test_page(request, vm, *, status: int = 200, **context):
    return render(request, "connect/test_connection.html", {"vm": vm, **context}, status=status)


def _run_test(request, vm: VirtualMachine):
    """Connect and log in with the stored credentials, record the result and show it step by step."""
    if not services.allow_connection(request.user):
        return _test_page(request, vm, status=429, error=services.too_many_connections_message())
    context = {}
    tried = False
    try:
        target = target_for(vm)
        tried, started = True, time.monotonic()
        version = async_to_sync(server_version)(target, settings.SSH_CONNECT_TIMEOUT)
    except ConnectError as error:
        if error.kind == FailureKind.UNREADABLE_SECRET:
            logger.error("VM #%s: a stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS.", vm.pk)
        context.update(steps=step_results(error, tried=tried), failure=error, failed_step=STEP_LABELS[error.step])
        if error.kind == FailureKind.HOST_KEY_UNKNOWN:
            algorithm = key_algorithm(error.offered_key)
            context["offered"] = {
                "fingerprint": error.offered_fingerprint,
                "algorithm": algorithm,
                "key_file": host_key_file(algorithm),
            }
        elif error.kind == FailureKind.HOST_KEY_CHANGED:
            context["host_key_changed"] = True
            context["can_reset_host_key"] = services.may_reset_host_key(vm, request.user)
        details = {"result": str(error.kind), "step": str(error.step)}
        if error.offered_key is not None:
            details["offered_fingerprint"] = error.offered_fingerprint
    else:
        context.update(steps=step_results(), server_version=version, seconds=time.monotonic() - started)
        details = {"result": "ok", "step": None}
    audit_record(
        action=Action.VM_CONNECTION_TEST, actor=request.user, target=vm, context=for_request(request), details=details
    )
    return _test_page(request, vm, **context)


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
    if not services.allow_connection(request.user):
        messages.error(request, services.too_many_connections_message())
        return back
    # Only the server's key is wanted: no credentials are read (so none decrypted) to fetch it.
    target = Target(host=vm.host, port=vm.port, username=vm.username)
    try:
        offered = async_to_sync(offered_key)(target, settings.SSH_CONNECT_TIMEOUT)
    except ConnectError as error:
        messages.error(
            request, _("Could not fetch the host key, nothing was stored: %(reason)s") % {"reason": error.message}
        )
        return back
    offered_fingerprint = fingerprint(offered)
    if offered_fingerprint != confirmed:
        message = _(
            "The server now offers the host key %(offered)s, not %(confirmed)s that you confirmed: nothing was "
            "stored. Test the connection again and check the key it shows with the server's administrator."
        )
        messages.error(request, message % {"offered": offered_fingerprint, "confirmed": confirmed})
        return back
    try:
        stored = services.vm_host_key_trust(
            vm=vm, actor=request.user, key=offered, offered_by=target, context=for_request(request)
        )
    except machine_services.HostKeyConflict as conflict:
        messages.error(request, str(conflict))
    except PermissionDenied:
        raise Http404 from None  # taken out of the user's reach while the key was fetched
    else:
        if stored:
            messages.success(request, _("Host key %(fingerprint)s trusted.") % {"fingerprint": offered_fingerprint})
            # Straight on to the login the key was confirmed for, so the user sees whether it works.
            return _run_test(request, vm)
        message = _("Host key %(fingerprint)s was already trusted: nothing was changed.")
        messages.info(request, message % {"fingerprint": offered_fingerprint})
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
