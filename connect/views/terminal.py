"""The terminal page: xterm.js (static/js/terminal.js) joined over a WebSocket to connect.consumers.TerminalConsumer."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_safe

from access.checks import allowed
from connect.routing import terminal_socket_path
from machines.models import VirtualMachine
from machines.views.common import get_vm
from vmlab.core.middleware import policy_with_inline_styles


@require_safe
def terminal(request, pk):
    vm = get_vm(request, pk, VirtualMachine.objects.visible_to)
    context = {
        "vm": vm,
        "socket_path": terminal_socket_path(vm.pk),
        # For a changed host key: who may edit the VM may reset its key (machines.services.vm_host_key_reset).
        "can_reset_host_key": allowed(VirtualMachine.objects.editable_by, request.user, vm),
    }
    response = render(request, "connect/terminal.html", context)
    # vmlab.core.middleware.ContentSecurityPolicyMiddleware keeps a policy that a view set.
    response.headers["Content-Security-Policy"] = policy_with_inline_styles(settings.CONTENT_SECURITY_POLICY)
    return response
