"""The connect services on their own, as the views and the terminal call them: access, audit rows and their context."""

import pytest
from django.core.exceptions import PermissionDenied

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.context import AuditContext
from audit.models import Action, AuditEvent
from connect import services
from machines.models import VirtualMachine

pytestmark = pytest.mark.django_db

CONTEXT = AuditContext(ip="203.0.113.7", user_agent="ServiceTest/1.0")


def rows(action):
    return list(AuditEvent.objects.filter(action=action))


def stored_fingerprint(vm) -> str:
    return VirtualMachine.objects.values_list("host_key_fingerprint", flat=True).get(pk=vm.pk)


def test_a_connection_test_records_its_result_with_the_address_and_browser_of_its_context(password_vm):
    test = services.vm_connection_test(vm=password_vm, actor=password_vm.owner, context=CONTEXT)

    assert test.failure is None
    [event] = rows(Action.VM_CONNECTION_TEST)
    assert (event.actor, event.target_id) == (password_vm.owner, str(password_vm.pk))
    assert (event.ip, event.user_agent) == ("203.0.113.7", "ServiceTest/1.0")
    assert event.details == {"result": "ok", "step": None}


def test_a_connection_test_by_someone_who_may_not_see_the_vm_tries_and_records_nothing(password_vm, ssh_server):
    attempts = len(ssh_server.auth_attempts)

    with pytest.raises(PermissionDenied):
        services.vm_connection_test(vm=password_vm, actor=UserFactory(role=Role.REGULAR), context=CONTEXT)

    assert len(ssh_server.auth_attempts) == attempts
    assert rows(Action.VM_CONNECTION_TEST) == []


def test_confirming_the_offered_key_stores_it_once_with_a_row(new_vm, ssh_server):
    confirm = {"vm": new_vm, "actor": new_vm.owner, "confirmed": ssh_server.host_key_fingerprint, "context": CONTEXT}

    assert services.vm_host_key_confirm(**confirm) is True
    assert services.vm_host_key_confirm(**confirm) is False  # already this very key: nothing changes

    assert stored_fingerprint(new_vm) == ssh_server.host_key_fingerprint
    [event] = rows(Action.VM_HOST_KEY_TRUST)
    assert event.ip == "203.0.113.7"


def test_confirming_a_key_the_server_does_not_offer_stores_nothing(new_vm, ssh_server):
    confirmed = "SHA256:" + "A" * 43

    with pytest.raises(services.OtherKeyOffered) as refused:
        services.vm_host_key_confirm(vm=new_vm, actor=new_vm.owner, confirmed=confirmed, context=CONTEXT)

    assert f"offers the host key {ssh_server.host_key_fingerprint}, not {confirmed}" in str(refused.value)
    assert stored_fingerprint(new_vm) == ""
    assert rows(Action.VM_HOST_KEY_TRUST) == []


def test_a_connection_test_over_the_limit_tries_and_records_nothing(password_vm, ssh_server, settings):
    settings.SSH_CONNECT_RATE_LIMIT = 1
    services.vm_connection_test(vm=password_vm, actor=password_vm.owner, context=CONTEXT)
    attempts = len(ssh_server.auth_attempts)

    with pytest.raises(services.TooManyConnections) as refused:
        services.vm_connection_test(vm=password_vm, actor=password_vm.owner, context=CONTEXT)

    assert refused.value.message == "Too many connections to VMs (at most 1 a minute): wait a minute and try again."
    assert len(ssh_server.auth_attempts) == attempts
    assert len(rows(Action.VM_CONNECTION_TEST)) == 1
