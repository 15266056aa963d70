"""Trusting a VM's host key after a connection test, resetting it, and forgetting it when the VM moves."""

import asyncssh
import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.context import AuditContext
from audit.models import Action, AuditEvent
from connect import checks
from connect.ssh import fingerprint, public_key_line
from connect.tests.sshserver import PASSWORD
from machines.models import VirtualMachine
from machines.services import vm_host_key_reset
from machines.tests.factories import VirtualMachineFactory
from vmlab.core import crypto

pytestmark = pytest.mark.django_db

# A well-formed fingerprint of no key the test server has.
UNKNOWN_FINGERPRINT = "SHA256:" + "A" * 43


def trust(client, vm, fingerprint_value):
    return client.post(reverse("connect:trust_host_key", args=[vm.pk]), {"fingerprint": fingerprint_value}, follow=True)


def check_url(vm):
    return reverse("connect:test_connection", args=[vm.pk])


def reset_url(vm):
    return reverse("connect:reset_host_key", args=[vm.pk])


def detail_url(vm):
    return reverse("machines:detail", args=[vm.pk])


def stored_key(vm):
    return tuple(VirtualMachine.objects.values_list("host_key", "host_key_fingerprint").get(pk=vm.pk))


def events(action):
    return list(AuditEvent.objects.filter(action=action))


@pytest.fixture
def client(client, vm_owner):
    client.force_login(vm_owner)
    return client


# -- Trust -----------------------------------------------------------------------------------------


def test_the_fingerprint_shown_by_a_first_test_can_be_trusted_and_the_test_runs_on_to_the_login(
    client, new_vm, ssh_server
):
    page = client.post(check_url(new_vm)).text
    assert f'name="fingerprint" value="{ssh_server.host_key_fingerprint}"' in page

    response = trust(client, new_vm, ssh_server.host_key_fingerprint)

    assert response.status_code == 200
    assert response.redirect_chain == []
    assert f"Host key {ssh_server.host_key_fingerprint} trusted." in response.text
    assert response.text.count('<span class="badge badge-ok">passed</span>') == 4
    assert "Connected and logged in with the stored credentials." in response.text
    assert stored_key(new_vm) == (ssh_server.host_key_line, ssh_server.host_key_fingerprint)
    assert [event.details["result"] for event in events(Action.VM_CONNECTION_TEST)] == ["ok", "host_key_unknown"]
    # Testing again from this page tests, rather than posting the key once more.
    assert f'<form method="post" action="{check_url(new_vm)}" class="inline">' in response.text


def test_a_login_that_fails_after_trusting_shows_why_with_the_key_trusted(client, vm_on_server, ssh_server):
    vm = vm_on_server(trusted=False, password="not-the-password-7")

    response = trust(client, vm, ssh_server.host_key_fingerprint)

    assert f"Host key {ssh_server.host_key_fingerprint} trusted." in response.text
    assert "The server refused the stored password for the user “alice”." in response.text
    assert stored_key(vm)[1] == ssh_server.host_key_fingerprint


def test_trusting_records_who_trusted_which_key(client, new_vm, ssh_server, vm_owner):
    trust(client, new_vm, ssh_server.host_key_fingerprint)

    [event] = events(Action.VM_HOST_KEY_TRUST)
    assert (event.actor, event.target_id) == (vm_owner, str(new_vm.pk))
    assert event.details == {"fingerprint": ssh_server.host_key_fingerprint, "algorithm": "ssh-ed25519"}


def test_the_assigned_user_may_trust_the_key_too(client, new_vm, ssh_server):
    regular = UserFactory(role=Role.REGULAR)
    VirtualMachine.objects.filter(pk=new_vm.pk).update(assigned_to=regular)
    client.force_login(regular)

    trust(client, new_vm, ssh_server.host_key_fingerprint)

    assert stored_key(new_vm)[1] == ssh_server.host_key_fingerprint


def test_fetching_the_key_to_trust_decrypts_no_secret(client, new_vm, ssh_server, monkeypatch):
    """Only the test that follows, once the key is stored, reads the password to log in."""
    real_decrypt = crypto.decrypt
    key_stored_at_each_decryption = []

    def decrypt(token):
        key_stored_at_each_decryption.append(stored_key(new_vm)[1])
        return real_decrypt(token)

    monkeypatch.setattr(crypto, "decrypt", decrypt)

    response = trust(client, new_vm, ssh_server.host_key_fingerprint)

    assert "trusted" in response.text
    assert key_stored_at_each_decryption
    assert set(key_stored_at_each_decryption) == {ssh_server.host_key_fingerprint}


def test_a_fingerprint_the_server_does_not_offer_is_refused_showing_both(client, new_vm, ssh_server):
    response = trust(client, new_vm, UNKNOWN_FINGERPRINT)

    assert response.redirect_chain == [(detail_url(new_vm), 302)]
    assert (
        f"The server now offers the host key {ssh_server.host_key_fingerprint}, not {UNKNOWN_FINGERPRINT} that you "
        "confirmed: nothing was stored."
    ) in response.text
    assert stored_key(new_vm) == ("", "")
    assert events(Action.VM_HOST_KEY_TRUST) == []


def test_a_vm_that_already_has_a_key_keeps_it(client, password_vm, ssh_server):
    response = trust(client, password_vm, UNKNOWN_FINGERPRINT)

    assert f"already has a trusted host key ({ssh_server.host_key_fingerprint}): nothing was changed." in (
        response.text
    )
    assert stored_key(password_vm) == (ssh_server.host_key_line, ssh_server.host_key_fingerprint)
    assert events(Action.VM_HOST_KEY_TRUST) == []


def test_a_key_stored_by_someone_else_meanwhile_is_not_replaced(
    client, new_vm, ssh_server, other_host_key, monkeypatch
):
    fetch = checks.offered_key

    async def someone_else_trusts_another_key_meanwhile(target, timeout):
        key = await fetch(target, timeout)
        stored = VirtualMachine.objects.filter(pk=new_vm.pk)
        other = {"host_key": public_key_line(other_host_key), "host_key_fingerprint": fingerprint(other_host_key)}
        await sync_to_async(stored.update)(**other)
        return key

    monkeypatch.setattr(checks, "offered_key", someone_else_trusts_another_key_meanwhile)

    response = trust(client, new_vm, ssh_server.host_key_fingerprint)

    message = f"Another host key ({fingerprint(other_host_key)}) was stored for this VM in the meantime."
    assert message in response.text
    assert stored_key(new_vm)[1] == fingerprint(other_host_key)
    assert events(Action.VM_HOST_KEY_TRUST) == []


def test_a_connection_failure_is_reported_and_nothing_is_stored(client, vm_owner, closed_port):
    vm = VirtualMachineFactory(owner=vm_owner, host="127.0.0.1", port=closed_port, password=PASSWORD)

    response = trust(client, vm, UNKNOWN_FINGERPRINT)

    assert "Could not fetch the host key, nothing was stored: 127.0.0.1 refused the connection" in response.text
    assert stored_key(vm) == ("", "")


@pytest.mark.parametrize(
    "sent",
    [None, "", "garbage", "SHA256:tooshort", "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48", "A" * 50],
)
def test_a_missing_or_garbled_fingerprint_is_refused_with_a_clear_message(client, new_vm, sent):
    url = reverse("connect:trust_host_key", args=[new_vm.pk])

    response = client.post(url, {} if sent is None else {"fingerprint": sent}, follow=True)

    assert "No valid host key fingerprint was sent, so nothing was stored" in response.text
    assert stored_key(new_vm) == ("", "")


def test_trust_by_get_changes_nothing(client, new_vm):
    assert client.get(reverse("connect:trust_host_key", args=[new_vm.pk])).status_code == 405


def test_trusting_counts_towards_the_connection_limit(client, new_vm, ssh_server, settings):
    settings.SSH_CONNECT_RATE_LIMIT = 1
    client.post(check_url(new_vm))

    response = trust(client, new_vm, ssh_server.host_key_fingerprint)

    assert "Too many connections to VMs (at most 1 a minute): wait a minute and try again." in response.text
    assert stored_key(new_vm) == ("", "")


def test_the_test_after_trusting_counts_too(client, new_vm, ssh_server, settings):
    settings.SSH_CONNECT_RATE_LIMIT = 1

    response = trust(client, new_vm, ssh_server.host_key_fingerprint)

    assert response.status_code == 429
    assert f"Host key {ssh_server.host_key_fingerprint} trusted." in response.text
    assert "Too many connections to VMs (at most 1 a minute)" in response.text
    assert stored_key(new_vm)[1] == ssh_server.host_key_fingerprint
    assert events(Action.VM_CONNECTION_TEST) == []


# -- Reset -----------------------------------------------------------------------------------------


def test_the_reset_page_shows_the_stored_key_and_changes_nothing(client, password_vm, ssh_server):
    response = client.get(reset_url(password_vm))

    assert response.status_code == 200
    assert f"<code>{ssh_server.host_key_fingerprint}</code>" in response.text
    assert "<code>ssh-ed25519</code>" in response.text
    assert stored_key(password_vm)[1] == ssh_server.host_key_fingerprint
    assert events(Action.VM_HOST_KEY_RESET) == []


def test_the_owner_resets_the_key_and_the_next_test_asks_to_confirm_it_again(client, password_vm, ssh_server):
    response = client.post(reset_url(password_vm), follow=True)

    assert response.redirect_chain == [(detail_url(password_vm), 302)]
    assert f"The host key {ssh_server.host_key_fingerprint} of “{password_vm.name}” was forgotten" in response.text
    assert stored_key(password_vm) == ("", "")
    [event] = events(Action.VM_HOST_KEY_RESET)
    assert (event.actor, event.details) == (password_vm.owner, {"fingerprint": ssh_server.host_key_fingerprint})
    page = client.post(check_url(password_vm)).text
    assert "Trust this host key" in page


def test_an_admin_may_reset_the_key_of_a_shared_vm(client, password_vm, admin):
    VirtualMachine.objects.filter(pk=password_vm.pk).update(shared=True)
    client.force_login(admin)

    client.post(reset_url(password_vm))

    assert stored_key(password_vm) == ("", "")
    assert events(Action.VM_HOST_KEY_RESET)[0].actor == admin


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("who", ["assigned regular", "manager seeing it shared"])
def test_users_who_may_only_connect_get_404_and_the_key_stays(client, password_vm, ssh_server, method, who):
    VirtualMachine.objects.filter(pk=password_vm.pk).update(shared=True)
    if who == "assigned regular":
        user = UserFactory(role=Role.REGULAR)
        VirtualMachine.objects.filter(pk=password_vm.pk).update(assigned_to=user)
    else:
        user = UserFactory(role=Role.MANAGER)
    client.force_login(user)
    assert client.get(detail_url(password_vm)).status_code == 200  # they do see the VM

    response = getattr(client, method)(reset_url(password_vm))

    assert response.status_code == 404
    assert stored_key(password_vm)[1] == ssh_server.host_key_fingerprint
    assert events(Action.VM_HOST_KEY_RESET) == []


@pytest.mark.parametrize("method", ["get", "post"])
def test_resetting_when_no_key_is_stored_says_so(client, new_vm, method):
    response = getattr(client, method)(reset_url(new_vm), follow=True)

    assert response.redirect_chain == [(detail_url(new_vm), 302)]
    assert f"“{new_vm.name}” has no stored host key: it will be confirmed on the next connection." in response.text
    assert events(Action.VM_HOST_KEY_RESET) == []


# -- A VM that moves forgets its key ---------------------------------------------------------------


def edit(client, vm, **changes):
    data = {"name": vm.name, "host": vm.host, "port": vm.port, "username": vm.username, "opened_version": vm.version}
    return client.post(reverse("machines:edit", args=[vm.pk]), {**data, **changes}, follow=True)


@pytest.mark.parametrize("changes", [{"host": "localhost"}, {"port": 2200}], ids=["host", "port"])
def test_editing_the_host_or_port_forgets_the_key_and_says_so(client, password_vm, changes):
    response = edit(client, password_vm, **changes)

    assert "Its SSH host key will be confirmed again on the next connection." in response.text
    assert stored_key(password_vm) == ("", "")
    event = AuditEvent.objects.get(action=Action.VM_UPDATE)
    assert event.details == {"fields": list(changes), "host_key_cleared": True}
    assert "Not confirmed yet" in response.text


def test_editing_only_the_name_keeps_the_key(client, password_vm, ssh_server):
    response = edit(client, password_vm, name="renamed")

    assert "VM “renamed” was updated." in response.text
    assert "host key will be confirmed again" not in response.text
    assert stored_key(password_vm) == (ssh_server.host_key_line, ssh_server.host_key_fingerprint)


def test_a_moved_vm_on_another_server_asks_for_its_key(client, password_vm, vm_owner):
    """The scenario behind the rule: the same address now answers with another server's key, not a warning."""
    other_server_key = asyncssh.generate_private_key("ssh-ed25519")
    VirtualMachine.objects.filter(pk=password_vm.pk).update(
        host_key=public_key_line(other_server_key), host_key_fingerprint=fingerprint(other_server_key)
    )
    password_vm.refresh_from_db()

    edit(client, password_vm, host="localhost")
    page = client.post(check_url(password_vm)).text

    assert "WARNING" not in page
    assert "Trust this host key" in page


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SIDEKICK])
def test_only_admins_may_reset_through_the_django_admin_path(password_vm, role):
    with pytest.raises(PermissionDenied):
        vm_host_key_reset(vm=password_vm, actor=UserFactory(role=role), context=AuditContext().via_admin())

    assert stored_key(password_vm)[1] == password_vm.host_key_fingerprint
    assert events(Action.VM_HOST_KEY_RESET) == []
