"""The "Test connection" page against the real test SSH server: each step, each way it fails, and who may run it."""

import errno
import re
import socket

import asyncssh
import pytest
from cryptography.fernet import Fernet
from django.test import Client
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from connect.ssh import fingerprint, public_key_line
from connect.tests.sshserver import KEY_USER, PASSWORD
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

PASSED, FAILED, TO_CONFIRM, NOT_TRIED = "passed", "failed", "to confirm", "not tried"
STEP_NAMES = ("Name lookup", "Port reachable", "SSH handshake / host key", "Login with the stored credentials")


def check(client, vm):
    return client.post(reverse("connect:test_connection", args=[vm.pk]))


def shown_steps(response) -> dict[str, str]:
    """Each step's name and the state the page shows for it, in page order."""
    rows = re.findall(r"<td>([^<]+)</td>\s*<td><span class=\"badge[^\"]*\">([^<]+)</span>", response.text)
    assert [name for name, _state in rows] == list(STEP_NAMES)
    return dict(rows)


def states(*values):
    return dict(zip(STEP_NAMES, values, strict=True))


def recorded_tests(vm):
    return list(AuditEvent.objects.filter(action=Action.VM_CONNECTION_TEST, target_id=str(vm.pk)))


def assert_no_secret(response, ssh_server=None):
    assert PASSWORD not in response.text
    assert "PRIVATE KEY" not in response.text
    if ssh_server is not None:
        key_lines = [line for line in ssh_server.client_key_pem.splitlines() if "-----" not in line and line]
        assert not [line for line in key_lines if line in response.text]


@pytest.fixture
def client(client, vm_owner):
    client.force_login(vm_owner)
    return client


# -- Success ---------------------------------------------------------------------------------------


def test_a_working_vm_passes_every_step_and_shows_the_server_version(client, password_vm, ssh_server):
    response = check(client, password_vm)

    assert response.status_code == 200
    assert shown_steps(response) == states(PASSED, PASSED, PASSED, PASSED)
    assert "Connected and logged in" in response.text
    assert "alert-danger" not in response.text
    assert re.search(r"<dt>Server version</dt><dd><code>SSH-2\.0-AsyncSSH_[^<]+</code>", response.text)
    assert f"<code>{ssh_server.host_key_fingerprint}</code>" in response.text
    assert re.search(r"<dt>Time taken</dt><dd>\d+\.\d\d s</dd>", response.text)
    assert_no_secret(response)
    [event] = recorded_tests(password_vm)
    assert (event.actor, event.details) == (password_vm.owner, {"result": "ok", "step": None})


def test_a_working_vm_leads_on_to_the_terminal_and_the_files(client, password_vm):
    text = check(client, password_vm).text

    assert (
        f'<a class="btn btn-primary" href="{reverse("connect:terminal", args=[password_vm.pk])}">Open terminal</a>'
        in text
    )
    assert f'<a class="btn" href="{reverse("connect:files", args=[password_vm.pk])}">Files</a>' in text


def test_a_failed_test_does_not_offer_the_terminal_or_the_files(client, vm_on_server):
    vm = vm_on_server(password="not-the-password-7")

    text = check(client, vm).text

    assert reverse("connect:terminal", args=[vm.pk]) not in text
    assert reverse("connect:files", args=[vm.pk]) not in text


def test_a_vm_with_a_stored_ssh_key_logs_in_with_it(client, key_vm, ssh_server):
    response = check(client, key_vm)

    assert shown_steps(response) == states(PASSED, PASSED, PASSED, PASSED)
    assert_no_secret(response, ssh_server)


def test_the_assigned_user_may_test_the_connection(client, password_vm):
    regular = UserFactory(role=Role.REGULAR)
    VirtualMachine.objects.filter(pk=password_vm.pk).update(assigned_to=regular)
    client.force_login(regular)

    response = check(client, password_vm)

    assert shown_steps(response) == states(PASSED, PASSED, PASSED, PASSED)
    assert recorded_tests(password_vm)[0].actor == regular


# -- Each way it fails -----------------------------------------------------------------------------


def test_a_host_name_that_does_not_resolve_fails_the_lookup(client, vm_owner, monkeypatch):
    async def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr("asyncio.base_events.BaseEventLoop.getaddrinfo", no_such_name)
    vm = VirtualMachineFactory(owner=vm_owner, host="no-such-vm.lab.invalid", password=PASSWORD)

    response = check(client, vm)

    assert shown_steps(response) == states(FAILED, NOT_TRIED, NOT_TRIED, NOT_TRIED)
    assert "The host name “no-such-vm.lab.invalid” does not resolve" in response.text
    assert "The connection failed at the step “Name lookup”." in response.text
    assert recorded_tests(vm)[0].details == {"result": "dns", "step": "lookup"}
    assert_no_secret(response)


def test_a_closed_port_fails_as_refused(client, vm_owner, closed_port):
    vm = VirtualMachineFactory(owner=vm_owner, host="127.0.0.1", port=closed_port, password=PASSWORD)

    response = check(client, vm)

    assert shown_steps(response) == states(PASSED, FAILED, NOT_TRIED, NOT_TRIED)
    assert f"127.0.0.1 refused the connection on port {closed_port}" in response.text
    assert recorded_tests(vm)[0].details == {"result": "refused", "step": "tcp"}


def test_an_unreachable_network_is_named_as_such(client, vm_owner, monkeypatch):
    async def unreachable(self, sock, address):
        raise OSError(errno.ENETUNREACH, "Network is unreachable")

    monkeypatch.setattr("asyncio.selector_events.BaseSelectorEventLoop.sock_connect", unreachable)
    vm = VirtualMachineFactory(owner=vm_owner, host="127.0.0.1", port=2222, password=PASSWORD)

    response = check(client, vm)

    assert shown_steps(response) == states(PASSED, FAILED, NOT_TRIED, NOT_TRIED)
    assert "127.0.0.1 port 2222 cannot be reached: Network is unreachable." in response.text
    assert recorded_tests(vm)[0].details == {"result": "unreachable", "step": "tcp"}


def test_a_server_that_never_answers_times_out_within_the_setting(client, vm_owner, silent_server, settings):
    settings.SSH_CONNECT_TIMEOUT = 0.5
    vm = VirtualMachineFactory(owner=vm_owner, host="127.0.0.1", port=silent_server.port, password=PASSWORD)

    response = check(client, vm)

    assert shown_steps(response) == states(PASSED, PASSED, FAILED, NOT_TRIED)
    assert "No answer from 127.0.0.1 port" in response.text
    assert "within 0.5 s, waiting for the SSH handshake." in response.text
    assert recorded_tests(vm)[0].details == {"result": "timeout", "step": "handshake"}


def test_something_that_is_not_an_ssh_server_fails_the_handshake(client, vm_owner, non_ssh_server):
    vm = VirtualMachineFactory(owner=vm_owner, host="127.0.0.1", port=non_ssh_server.port, password=PASSWORD)

    response = check(client, vm)

    assert shown_steps(response) == states(PASSED, PASSED, FAILED, NOT_TRIED)
    assert "The SSH handshake failed (is this an SSH server?)" in response.text
    assert recorded_tests(vm)[0].details == {"result": "protocol", "step": "handshake"}


def test_a_wrong_stored_password_fails_the_login(client, password_vm):
    vm = VirtualMachine.objects.get(pk=password_vm.pk)
    vm.password = "not-the-password-7"
    vm.save()

    response = check(client, vm)

    assert shown_steps(response) == states(PASSED, PASSED, PASSED, FAILED)
    assert "The server refused the stored password for the user “alice”." in response.text
    assert "not-the-password-7" not in response.text
    assert recorded_tests(vm)[0].details == {"result": "auth_failed", "step": "login"}


def test_a_vm_without_credentials_says_there_is_nothing_to_log_in_with(client, vm_on_server):
    vm = vm_on_server()

    response = check(client, vm)

    assert shown_steps(response) == states(PASSED, PASSED, PASSED, FAILED)
    assert "This VM has no stored password or SSH key to log in with." in response.text
    assert recorded_tests(vm)[0].details == {"result": "no_credentials", "step": "login"}


def test_a_secret_no_key_decrypts_is_reported_and_nothing_is_tried(client, password_vm, settings):
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)

    response = check(client, password_vm)

    assert shown_steps(response) == states(NOT_TRIED, NOT_TRIED, NOT_TRIED, FAILED)
    assert "Cannot decrypt a stored secret: check FIELD_ENCRYPTION_KEYS" in response.text
    assert recorded_tests(password_vm)[0].details == {"result": "unreadable_secret", "step": "login"}


# -- Host keys -------------------------------------------------------------------------------------


def test_a_first_connection_shows_the_offered_key_and_a_form_to_trust_it(client, new_vm, ssh_server):
    response = check(client, new_vm)

    assert response.status_code == 200
    assert shown_steps(response) == states(PASSED, PASSED, TO_CONFIRM, NOT_TRIED)
    text = response.text
    assert f"<dt>Fingerprint</dt><dd><code>{ssh_server.host_key_fingerprint}</code></dd>" in text
    assert "<dt>Algorithm</dt><dd><code>ssh-ed25519</code></dd>" in text
    assert "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" in text
    assert f'<form method="post" action="{reverse("connect:trust_host_key", args=[new_vm.pk])}">' in text
    assert f'<input type="hidden" name="fingerprint" value="{ssh_server.host_key_fingerprint}">' in text
    assert "Trust this host key" in text
    assert VirtualMachine.objects.get(pk=new_vm.pk).host_key == ""  # shown, not stored
    [event] = recorded_tests(new_vm)
    assert event.details == {
        "result": "host_key_unknown",
        "step": "handshake",
        "offered_fingerprint": ssh_server.host_key_fingerprint,
    }
    assert_no_secret(response)


def test_a_first_connection_is_a_warning_to_confirm_said_once_not_a_failure(client, new_vm, ssh_server):
    text = check(client, new_vm).text

    assert '<div class="alert alert-warning" role="status">The login was not tried yet: confirm' in text
    assert '<span class="badge badge-warn">to confirm</span>' in text
    assert "alert-danger" not in text and "badge-danger" not in text
    assert "The connection failed" not in text
    assert text.count("never connected to this server") == 1
    assert "This is the first connection" not in text  # the form below says it, with the key's details
    # Once to read, once in the form that confirms it.
    assert text.count(ssh_server.host_key_fingerprint) == 2


def other_key_vm(vm_on_server, key, **fields):
    """A VM on the test server that trusts `key`, which the server does not have."""
    return vm_on_server(
        password=PASSWORD, host_key=public_key_line(key), host_key_fingerprint=fingerprint(key), **fields
    )


def test_a_changed_key_is_refused_with_a_warning_and_the_owner_gets_a_reset_link(
    client, vm_on_server, ssh_server, other_host_key
):
    vm = other_key_vm(vm_on_server, other_host_key)

    response = check(client, vm)

    assert shown_steps(response) == states(PASSED, PASSED, FAILED, NOT_TRIED)
    assert "WARNING: the host key of 127.0.0.1 has changed!" in response.text
    assert fingerprint(other_host_key) in response.text and ssh_server.host_key_fingerprint in response.text
    assert f'href="{reverse("connect:reset_host_key", args=[vm.pk])}">Reset host key</a>' in response.text
    assert "Trust this host key" not in response.text
    assert VirtualMachine.objects.get(pk=vm.pk).host_key_fingerprint == fingerprint(other_host_key)
    assert recorded_tests(vm)[0].details["result"] == "host_key_changed"


def test_a_stored_key_of_another_type_is_a_changed_key_naming_both_fingerprints(client, vm_on_server, ssh_server):
    # The server has no ECDSA key: it offers its Ed25519 one, which must not pass for the stored key.
    stored = asyncssh.generate_private_key("ecdsa-sha2-nistp256")
    vm = other_key_vm(vm_on_server, stored)

    response = check(client, vm)

    assert shown_steps(response) == states(PASSED, PASSED, FAILED, NOT_TRIED)
    assert (
        f"The stored key is {fingerprint(stored)}; the server offered {ssh_server.host_key_fingerprint}."
    ) in response.text
    assert reverse("connect:reset_host_key", args=[vm.pk]) in response.text
    assert "Trust this host key" not in response.text
    assert VirtualMachine.objects.get(pk=vm.pk).host_key_fingerprint == fingerprint(stored)
    assert recorded_tests(vm)[0].details == {
        "result": "host_key_changed",
        "step": "handshake",
        "offered_fingerprint": ssh_server.host_key_fingerprint,
    }


def test_an_admin_gets_the_reset_link_for_a_shared_vm_too(client, vm_on_server, other_host_key, admin):
    vm = other_key_vm(vm_on_server, other_host_key, shared=True)
    client.force_login(admin)

    response = check(client, vm)

    assert reverse("connect:reset_host_key", args=[vm.pk]) in response.text


def test_the_assigned_user_sees_the_warning_but_no_reset_link(client, vm_on_server, other_host_key):
    regular = UserFactory(role=Role.REGULAR)
    vm = other_key_vm(vm_on_server, other_host_key, assigned_to=regular)
    client.force_login(regular)

    response = check(client, vm)

    assert "WARNING: the host key of 127.0.0.1 has changed!" in response.text
    assert reverse("connect:reset_host_key", args=[vm.pk]) not in response.text
    assert f"Only the VM's owner ({vm.owner.username}) or an admin may reset it" in response.text


# -- Method, access, rate limit --------------------------------------------------------------------


def test_get_shows_the_page_with_a_button_to_run_the_test_and_connects_nowhere(client, password_vm):
    url = reverse("connect:test_connection", args=[password_vm.pk])

    response = client.get(url)

    assert response.status_code == 200
    assert f"Connection test of “{password_vm.name}”" in response.text
    assert f'<form method="post" action="{url}" class="inline">' in response.text
    assert '<button class="btn btn-primary">Run test</button>' in response.text
    assert "Port reachable" not in response.text
    assert recorded_tests(password_vm) == []


NEW_URLS = [
    ("connect:test_connection", "get"),
    ("connect:test_connection", "post"),
    ("connect:trust_host_key", "post"),
    ("connect:reset_host_key", "get"),
    ("connect:reset_host_key", "post"),
]


@pytest.mark.parametrize(("name", "method"), NEW_URLS)
@pytest.mark.parametrize("role", [Role.REGULAR, Role.SIDEKICK, Role.MANAGER, Role.ADMIN])
def test_another_users_private_vm_is_404_on_every_new_url(client, vm_on_server, ssh_server, role, name, method):
    vm = vm_on_server(owner=UserFactory(role=Role.SIDEKICK), shared=False, username=KEY_USER, password=PASSWORD)
    client.force_login(UserFactory(role=role))

    response = getattr(client, method)(reverse(name, args=[vm.pk]), {"fingerprint": ssh_server.host_key_fingerprint})

    assert response.status_code == 404
    assert PASSWORD not in response.text
    assert VirtualMachine.objects.get(pk=vm.pk).host_key == ssh_server.host_key_line
    assert not AuditEvent.objects.exclude(action=Action.LOGIN).exists()


@pytest.mark.parametrize(("name", "method"), NEW_URLS)
def test_a_forged_vm_id_is_404_on_every_new_url(client, password_vm, name, method):
    response = getattr(client, method)(reverse(name, args=[password_vm.pk + 1000]), {"fingerprint": "x"})

    assert response.status_code == 404


@pytest.mark.parametrize(("name", "method"), NEW_URLS)
def test_an_anonymous_visitor_is_sent_to_the_login_page(password_vm, name, method):
    response = getattr(Client(), method)(reverse(name, args=[password_vm.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_tests_are_limited_per_user_and_minute(client, vm_owner, closed_port, settings):
    settings.SSH_CONNECT_RATE_LIMIT = 2
    vm = VirtualMachineFactory(owner=vm_owner, host="127.0.0.1", port=closed_port, password=PASSWORD, shared=True)
    assert check(client, vm).status_code == 200
    assert check(client, vm).status_code == 200

    response = check(client, vm)

    assert response.status_code == 429
    assert "Too many connections to VMs (at most 2 a minute): wait a minute and try again." in response.text
    assert "Port reachable" not in response.text  # nothing was tried
    assert len(recorded_tests(vm)) == 2

    client.force_login(UserFactory(role=Role.ADMIN))  # another user has a limit of their own
    assert check(client, vm).status_code == 200


def test_file_transfers_count_towards_the_same_limit(client, password_vm, settings):
    settings.SSH_CONNECT_RATE_LIMIT = 1
    assert client.get(reverse("connect:files", args=[password_vm.pk])).status_code == 200

    response = check(client, password_vm)

    assert response.status_code == 429
    assert recorded_tests(password_vm) == []


def test_the_recorded_test_has_the_clients_address_and_browser(client, password_vm):
    client.post(
        reverse("connect:test_connection", args=[password_vm.pk]), REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT="Probe/2"
    )

    [event] = recorded_tests(password_vm)
    assert (event.ip, event.user_agent) == ("198.51.100.4", "Probe/2")
