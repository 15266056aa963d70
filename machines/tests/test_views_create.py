import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from machines.models import VirtualMachine

pytestmark = pytest.mark.django_db

URL = reverse("machines:create")
VM_PASSWORD = "typed-vm-password-31"


def form_data(**overrides):
    data = {"name": "web-1", "host": "web1.lab.example", "port": "2222", "username": "ubuntu", "shared": "on"}
    return {**data, **overrides}


@pytest.fixture
def sidekick(client):
    user = UserFactory(role=Role.SIDEKICK)
    client.force_login(user)
    return user


@pytest.fixture
def manager(client):
    user = UserFactory(role=Role.MANAGER)
    client.force_login(user)
    return user


def test_a_sidekick_gets_the_form_without_the_assign_field(client, sidekick):
    response = client.get(URL)

    assert response.status_code == 200
    assert 'name="host"' in response.text
    assert 'name="password"' in response.text
    assert 'type="file"' in response.text
    assert "Assign to" not in response.text


def test_a_manager_may_assign_to_active_regular_and_sidekick_users_only(client, manager):
    regular = UserFactory(role=Role.REGULAR, username="reg-ok")
    sidekick = UserFactory(role=Role.SIDEKICK, username="side-ok")
    UserFactory(username="mgr-no", role=Role.MANAGER)
    UserFactory(username="new-no", role=Role.NEW_USER)
    UserFactory(username="off-no", role=Role.REGULAR, is_active=False)

    response = client.get(URL)

    assert "Assign to" in response.text
    assert f'value="{regular.pk}"' in response.text and f'value="{sidekick.pk}"' in response.text
    for username in ("mgr-no", "new-no", "off-no"):
        assert username not in response.text


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_regular_user_may_not_create_vms(client, method):
    client.force_login(UserFactory(role=Role.REGULAR))

    response = getattr(client, method)(URL, form_data())

    assert response.status_code == 404
    assert not VirtualMachine.objects.exists()


def test_creating_a_vm_makes_the_creator_its_owner_and_shows_it(client, sidekick):
    response = client.post(URL, form_data(password=VM_PASSWORD), follow=True)

    vm = VirtualMachine.objects.get()
    assert response.redirect_chain == [(reverse("machines:detail", args=[vm.pk]), 302)]
    assert (vm.name, vm.host, vm.port, vm.username, vm.shared) == ("web-1", "web1.lab.example", 2222, "ubuntu", True)
    assert vm.owner == sidekick and vm.assigned_to is None
    assert vm.password == VM_PASSWORD
    assert "VM “web-1” was created." in response.text
    assert VM_PASSWORD not in response.text
    assert AuditEvent.objects.filter(action=Action.VM_CREATE, actor=sidekick).count() == 1


def test_a_pasted_key_with_windows_line_endings_is_stored_normalised(client, sidekick, ssh_private_key):
    client.post(URL, form_data(ssh_key=ssh_private_key.replace("\n", "\r\n")))

    assert VirtualMachine.objects.get().ssh_key == ssh_private_key


def test_an_uploaded_key_file_is_stored(client, sidekick, rsa_pem_private_key):
    upload = SimpleUploadedFile("id_rsa", rsa_pem_private_key.encode())

    client.post(URL, form_data(ssh_key_file=upload))

    assert VirtualMachine.objects.get().ssh_key == rsa_pem_private_key


def test_a_manager_creates_the_vm_assigned_to_a_user_and_stays_the_owner(client, manager):
    regular = UserFactory(role=Role.REGULAR)

    client.post(URL, form_data(assigned_to=regular.pk))

    vm = VirtualMachine.objects.get()
    assert (vm.owner, vm.assigned_to) == (manager, regular)


def test_a_manager_cannot_assign_a_new_vm_to_another_manager(client, manager):
    other = UserFactory(role=Role.MANAGER)

    response = client.post(URL, form_data(assigned_to=other.pk))

    assert response.status_code == 200
    assert "Choose an active regular or sidekick user, or nobody." in response.text
    assert not VirtualMachine.objects.exists()


def test_a_sidekick_posting_an_assignee_creates_an_unassigned_vm(client, sidekick):
    client.post(URL, form_data(assigned_to=UserFactory(role=Role.REGULAR).pk))

    assert VirtualMachine.objects.get().assigned_to is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("port", "0", "greater than or equal to 1"),
        ("port", "65536", "less than or equal to 65535"),
        ("port", "abc", "Enter a whole number."),
        ("host", "bad host", "Enter a valid host name"),
        ("host", "10.0.0.999", "not a valid IPv4 address"),
        ("username", "-oProxyCommand=x", "letters, digits and"),
        ("name", "", "This field is required."),
        ("ssh_key", "garbage", "This is not a private key in OpenSSH or PEM format."),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_saved(client, sidekick, field, value, message):
    response = client.post(URL, form_data(**{field: value}, password=VM_PASSWORD))

    assert response.status_code == 200
    assert message in response.text
    assert VM_PASSWORD not in response.text
    assert not VirtualMachine.objects.exists()


def test_a_public_key_is_refused_and_not_echoed_back(client, sidekick):
    public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC8h44vUZCOqRljWauwfFZwNO11PvQ1tXW9Ob9e4b1tH me@laptop"

    response = client.post(URL, form_data(ssh_key=public_key))

    assert "This is a public key" in response.text
    assert "AAAAC3NzaC1lZDI1NTE5" not in response.text
    assert not VirtualMachine.objects.exists()


def test_a_valid_key_is_not_echoed_back_when_another_field_is_wrong(client, sidekick, ssh_private_key):
    response = client.post(URL, form_data(port="0", ssh_key=ssh_private_key))

    assert response.status_code == 200
    assert ssh_private_key.splitlines()[1] not in response.text
    assert not VirtualMachine.objects.exists()


def test_a_file_that_is_not_utf8_text_is_refused_with_a_clear_message(client, sidekick):
    upload = SimpleUploadedFile("id_ed25519", b"\xff\xfe\x00binary\x80")

    response = client.post(URL, form_data(ssh_key_file=upload))

    assert "The file is not a text file (UTF-8)" in response.text
    assert not VirtualMachine.objects.exists()


def test_a_key_both_pasted_and_uploaded_is_refused(client, sidekick, ssh_private_key):
    upload = SimpleUploadedFile("id_ed25519", ssh_private_key.encode())

    response = client.post(URL, form_data(ssh_key=ssh_private_key, ssh_key_file=upload))

    assert "Paste the key or upload its file, not both." in response.text
    assert not VirtualMachine.objects.exists()


def test_the_shared_box_left_unticked_creates_a_private_vm(client, sidekick):
    data = form_data()
    del data["shared"]

    client.post(URL, data)

    assert VirtualMachine.objects.get().shared is False
