import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

VM_PASSWORD = "detail-page-vm-password-9"


def url(name, vm):
    return reverse(f"machines:{name}", args=[vm.pk])


@pytest.fixture
def owner(client):
    user = UserFactory(role=Role.SIDEKICK, username="olivia")
    client.force_login(user)
    return user


@pytest.fixture
def vm(owner, ssh_private_key):
    return VirtualMachineFactory(
        owner=owner,
        name="Web Server 1",
        host="web1.lab.example",
        port=2222,
        username="ubuntu",
        password=VM_PASSWORD,
        ssh_key=ssh_private_key,
        assigned_to=UserFactory(role=Role.REGULAR, username="rita"),
    )


# Everyone who may see a VM may connect to it (PRODUCT.md §3).
CONNECT_ACTIONS = {"Open terminal", "Files", "Test connection"}


def action_links(response):
    return {action.label: action.url for action in response.context["actions"]}


def test_the_detail_page_shows_the_connection_details_and_a_copy_ready_command(client, vm):
    response = client.get(url("detail", vm))

    assert response.status_code == 200
    text = response.text
    assert '<code class="block" id="ssh-command">ssh -p 2222 ubuntu@web1.lab.example</code>' in text
    assert 'data-copy="ssh-command"' in text
    for shown in ("Web Server 1", "web1.lab.example", "2222", "ubuntu", "olivia", "rita"):
        assert shown in text
    assert url("ssh_config", vm) in text


def test_the_detail_page_says_which_secrets_are_set_without_decrypting_them(client, vm, decrypt_calls):
    response = client.get(url("detail", vm))

    assert response.context["vm"].has_password and response.context["vm"].has_ssh_key
    assert decrypt_calls == []
    assert VM_PASSWORD not in response.text
    assert "PRIVATE KEY" not in response.text


def test_the_owner_gets_every_action_but_assign(client, vm):
    links = action_links(client.get(url("detail", vm)))

    assert links == {
        "Open terminal": reverse("connect:terminal", args=[vm.pk]),
        "Files": reverse("connect:files", args=[vm.pk]),
        "Test connection": reverse("connect:test_connection", args=[vm.pk]),
        "Reveal a secret": url("reveal", vm),
        "Edit": url("edit", vm),
        "Change password": url("password", vm),
        "Change SSH key": url("ssh_key", vm),
        "Share": url("share", vm),
        "Delete": url("delete", vm),
    }


def test_a_manager_owner_may_also_assign_and_a_vm_without_secrets_offers_no_reveal(client):
    manager = UserFactory(role=Role.MANAGER)
    client.force_login(manager)
    vm = VirtualMachineFactory(owner=manager, shared=True)

    links = action_links(client.get(url("detail", vm)))

    assert set(links) == {"Edit", "Set password", "Set SSH key", "Make private", "Assign", "Delete"} | CONNECT_ACTIONS


def test_the_share_action_is_a_post_form(client, vm):
    response = client.get(url("detail", vm))

    assert f'<form method="post" action="{url("share", vm)}" class="inline">' in response.text


def test_the_assigned_user_may_only_read_and_reveal(client, vm):
    client.force_login(vm.assigned_to)

    response = client.get(url("detail", vm))

    assert response.status_code == 200
    assert set(action_links(response)) == {"Reveal a secret"} | CONNECT_ACTIONS
    assert url("edit", vm) not in response.text


def test_a_manager_sees_a_shared_vm_of_someone_else_read_only(client, vm):
    vm.shared = True
    vm.save()
    client.force_login(UserFactory(role=Role.MANAGER))

    response = client.get(url("detail", vm))

    assert response.status_code == 200
    assert set(action_links(response)) == {"Reveal a secret"} | CONNECT_ACTIONS


def test_an_admin_may_edit_and_assign_a_shared_vm_of_someone_else(client, vm, admin):
    vm.shared = True
    vm.save()
    client.force_login(admin)

    links = action_links(client.get(url("detail", vm)))

    assert {"Edit", "Delete", "Assign", "Make private"} <= set(links)


# -- 404 for everything a user may not see, on every object URL ------------------------------------

OBJECT_URLS = [
    ("detail", "get"),
    ("edit", "get"),
    ("edit", "post"),
    ("delete", "get"),
    ("delete", "post"),
    ("password", "get"),
    ("password", "post"),
    ("ssh_key", "get"),
    ("ssh_key", "post"),
    ("share", "post"),
    ("assign", "get"),
    ("assign", "post"),
    ("reveal", "get"),
    ("reveal", "post"),
    ("ssh_config", "get"),
]


@pytest.mark.parametrize(("name", "method"), OBJECT_URLS)
@pytest.mark.parametrize("role", [Role.REGULAR, Role.SIDEKICK, Role.MANAGER, Role.ADMIN])
def test_another_users_private_vm_is_404_on_every_url(client, role, name, method):
    vm = VirtualMachineFactory(owner=UserFactory(role=Role.SIDEKICK), shared=False, password=VM_PASSWORD)
    client.force_login(UserFactory(role=role))

    response = getattr(client, method)(url(name, vm), {"password": "x", "remove": "1", "name": "taken"})

    assert response.status_code == 404
    assert VM_PASSWORD not in response.text
    assert VirtualMachine.objects.filter(pk=vm.pk, name=vm.name, shared=False).exists()
    assert not AuditEvent.objects.exclude(action=Action.LOGIN).exists()


@pytest.mark.parametrize(("name", "method"), [u for u in OBJECT_URLS if u[0] not in ("detail", "reveal", "ssh_config")])
def test_the_assigned_user_gets_404_on_every_change_url(client, vm, name, method):
    client.force_login(vm.assigned_to)

    response = getattr(client, method)(url(name, vm), {"remove": "1"})

    assert response.status_code == 404
    assert VirtualMachine.objects.get(pk=vm.pk).password == VM_PASSWORD


def test_an_unknown_vm_is_404(client, owner):
    assert client.get(reverse("machines:detail", args=[999999])).status_code == 404


def test_an_anonymous_visitor_is_sent_to_the_login_page(vm):
    response = Client().get(url("detail", vm))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# -- Share toggle ------------------------------------------------------------------------------------


def test_share_sets_the_flag_with_a_message_and_an_audit_row(client, vm, owner):
    response = client.post(url("share", vm), {"shared": "true"}, follow=True)

    assert VirtualMachine.objects.get(pk=vm.pk).shared is True
    assert "is now shared" in response.text
    assert response.redirect_chain == [(url("detail", vm), 302)]

    response = client.post(url("share", vm), {"shared": "false"}, follow=True)

    assert VirtualMachine.objects.get(pk=vm.pk).shared is False
    assert "is now private" in response.text
    assert list(AuditEvent.objects.filter(action=Action.VM_SHARE).values_list("details", flat=True)) == [
        {"shared": False},
        {"shared": True},
    ]


def test_the_share_button_asks_for_the_state_it_shows(client, vm):
    page = client.get(url("detail", vm)).text

    assert '<input type="hidden" name="shared" value="true"><button class="btn ">Share</button>' in page


def test_a_share_button_from_an_outdated_page_does_not_undo_a_newer_change(client, vm):
    client.post(url("share", vm), {"shared": "true"})  # pressed in one tab ...

    response = client.post(url("share", vm), {"shared": "true"}, follow=True)  # ... and again in an older tab

    assert VirtualMachine.objects.get(pk=vm.pk).shared is True
    assert "is now shared" in response.text
    assert AuditEvent.objects.filter(action=Action.VM_SHARE).count() == 1


@pytest.mark.parametrize("value", [None, "", "yes", "1"])
def test_share_without_a_clear_choice_changes_nothing_and_says_so(client, vm, value):
    data = {} if value is None else {"shared": value}

    response = client.post(url("share", vm), data, follow=True)

    assert "Choose whether to share the VM or make it private." in response.text
    assert VirtualMachine.objects.get(pk=vm.pk).shared is False
    assert not AuditEvent.objects.filter(action=Action.VM_SHARE).exists()


def test_share_goes_back_to_a_local_next_page_only(client, vm):
    data = {"shared": "true"}
    assert client.post(url("share", vm), {**data, "next": "/?mine_page=2"})["Location"] == "/?mine_page=2"
    assert client.post(url("share", vm), {**data, "next": "https://evil.example/"})["Location"] == url("detail", vm)


def test_share_by_get_changes_nothing(client, vm):
    response = client.get(url("share", vm))

    assert response.status_code == 405
    assert VirtualMachine.objects.get(pk=vm.pk).shared is False


# -- ~/.ssh/config download --------------------------------------------------------------------------


def test_the_ssh_config_entry_is_a_plain_text_download_without_secrets(client, vm):
    response = client.get(url("ssh_config", vm))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="web-server-1.ssh-config"'
    assert response.content.decode() == (
        "Host web-server-1\n"
        "    HostName web1.lab.example\n"
        "    Port 2222\n"
        "    User ubuntu\n"
        "    IdentityFile ~/.ssh/Web-Server-1_id\n"
        "    IdentitiesOnly yes\n"
    )
    assert VM_PASSWORD not in response.content.decode()


def test_the_ssh_config_of_a_vm_without_a_key_names_no_identity_file(client, owner):
    vm = VirtualMachineFactory(owner=owner, name="db", host="10.0.0.5", port=22, username="root")

    response = client.get(url("ssh_config", vm))

    assert response.content.decode() == "Host db\n    HostName 10.0.0.5\n    Port 22\n    User root\n"


def test_the_ssh_config_is_open_to_the_assigned_user(client, vm):
    client.force_login(vm.assigned_to)

    assert client.get(url("ssh_config", vm)).status_code == 200


# -- Host key card -----------------------------------------------------------------------------------

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKzb0AVSXhXIfl3GmmhKmt6dkBkyuzsyqJeXj2HRrCzB"
HOST_KEY_FINGERPRINT = "SHA256:Mcvm54qzyvyx1vjuWMB1juMgcCC8HRw/fD4hggKvpVM"  # ssh-keygen -lf of HOST_KEY


@pytest.fixture
def vm_with_host_key(vm):
    VirtualMachine.objects.filter(pk=vm.pk).update(host_key=HOST_KEY, host_key_fingerprint=HOST_KEY_FINGERPRINT)
    return vm


def test_the_host_key_card_shows_the_stored_fingerprint_and_a_reset_link_to_the_owner(client, vm_with_host_key):
    text = client.get(url("detail", vm_with_host_key)).text

    assert f"<dt>Fingerprint</dt><dd><code>{HOST_KEY_FINGERPRINT}</code></dd>" in text
    assert "<dt>Algorithm</dt><dd><code>ssh-ed25519</code></dd>" in text
    assert f'<a href="{reverse("connect:reset_host_key", args=[vm_with_host_key.pk])}">Reset host key</a>' in text
    assert "Not confirmed yet" not in text


def test_the_assigned_user_sees_the_fingerprint_without_a_reset_link(client, vm_with_host_key):
    client.force_login(vm_with_host_key.assigned_to)

    text = client.get(url("detail", vm_with_host_key)).text

    assert HOST_KEY_FINGERPRINT in text
    assert reverse("connect:reset_host_key", args=[vm_with_host_key.pk]) not in text


def test_an_admin_gets_the_reset_link_for_a_shared_vm(client, vm_with_host_key, admin):
    VirtualMachine.objects.filter(pk=vm_with_host_key.pk).update(shared=True)
    client.force_login(admin)

    text = client.get(url("detail", vm_with_host_key)).text

    assert reverse("connect:reset_host_key", args=[vm_with_host_key.pk]) in text


def test_a_vm_without_a_host_key_says_it_will_be_confirmed_on_the_first_connection(client, vm):
    text = client.get(url("detail", vm)).text

    assert "Not confirmed yet: you will be asked to confirm it on the first connection." in text
    assert reverse("connect:reset_host_key", args=[vm.pk]) not in text


def test_the_host_key_card_costs_no_query_of_its_own(client, vm):
    """Whether the user may reset the key is whether they may edit the VM, which the actions asked already."""

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url("detail", vm)).status_code == 200
        return [query["sql"] for query in captured]

    without_key = queries()
    VirtualMachine.objects.filter(pk=vm.pk).update(host_key=HOST_KEY, host_key_fingerprint=HOST_KEY_FINGERPRINT)
    with_key = queries()

    assert len(with_key) == len(without_key)
    assert len(set(with_key)) == len(with_key)  # the same SELECT is never run twice
