import pytest
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

VM_PASSWORD = "edit-page-vm-password-5"


def url(name, vm):
    return reverse(f"machines:{name}", args=[vm.pk])


@pytest.fixture
def vm(owner, ssh_private_key):
    return VirtualMachineFactory(
        owner=owner, name="build", host="build.lab.example", password=VM_PASSWORD, ssh_key=ssh_private_key
    )


def edit_data(**overrides):
    return {
        "name": "build-2",
        "host": "10.0.0.7",
        "port": "2200",
        "username": "ci",
        "shared": "on",
        "opened_version": "1",
        **overrides,
    }


def test_the_edit_form_shows_the_current_details_and_no_secret_field(client, vm):
    response = client.get(url("edit", vm))

    assert response.status_code == 200
    assert 'value="build.lab.example"' in response.text
    assert 'name="password"' not in response.text and 'name="ssh_key"' not in response.text
    assert VM_PASSWORD not in response.text


def test_editing_saves_the_details_keeps_the_secrets_and_records_the_changed_fields(client, vm, ssh_private_key):
    response = client.post(url("edit", vm), edit_data(), follow=True)

    saved = VirtualMachine.objects.get(pk=vm.pk)
    assert (saved.name, saved.host, saved.port, saved.username, saved.shared) == (
        "build-2",
        "10.0.0.7",
        2200,
        "ci",
        True,
    )
    assert (saved.password, saved.ssh_key) == (VM_PASSWORD, ssh_private_key)
    assert response.redirect_chain == [(url("detail", vm), 302)]
    assert "VM “build-2” was updated." in response.text
    assert AuditEvent.objects.get(action=Action.VM_UPDATE).details == {"fields": ["host", "name", "port", "username"]}
    assert AuditEvent.objects.get(action=Action.VM_SHARE).details == {"shared": True}


def test_saving_without_a_change_says_so_and_records_nothing(client, vm):
    data = {"name": vm.name, "host": vm.host, "port": vm.port, "username": vm.username, "opened_version": vm.version}

    response = client.post(url("edit", vm), data, follow=True)

    assert "Nothing changed." in response.text
    assert not AuditEvent.objects.exclude(action=Action.LOGIN).exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("port", "0", "greater than or equal to 1"),
        ("port", "65536", "less than or equal to 65535"),
        ("port", "abc", "Enter a whole number."),
        ("host", "vm_1.lab", "Enter a valid host name"),
        ("username", "two words", "letters, digits and"),
    ],
)
def test_bad_details_are_refused_with_a_message_and_nothing_changes(client, vm, field, value, message):
    response = client.post(url("edit", vm), edit_data(**{field: value}))

    assert response.status_code == 200
    assert message in response.text
    assert "Edit “build”" in response.text
    assert VirtualMachine.objects.get(pk=vm.pk).name == "build"


def test_a_manager_cannot_edit_someone_elses_shared_vm_but_an_admin_can(client, vm, admin):
    vm.shared = True
    vm.save()
    client.force_login(UserFactory(role=Role.MANAGER))
    assert client.post(url("edit", vm), edit_data()).status_code == 404

    client.force_login(admin)
    client.post(url("edit", vm), edit_data(name="admin-fixed"))

    assert VirtualMachine.objects.get(pk=vm.pk).name == "admin-fixed"


def test_the_delete_page_asks_for_confirmation_and_deletes_nothing(client, vm):
    response = client.get(url("delete", vm))

    assert response.status_code == 200
    assert "Delete “build”?" in response.text
    assert '<form method="post">' in response.text
    assert VirtualMachine.objects.filter(pk=vm.pk).exists()


def test_confirming_deletes_the_vm_and_goes_to_the_dashboard_with_a_message(client, vm):
    response = client.post(url("delete", vm), follow=True)

    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    assert response.redirect_chain == [(reverse("dashboard"), 302)]
    assert "VM “build” was deleted." in response.text
    assert AuditEvent.objects.filter(action=Action.VM_DELETE, target_label="build").count() == 1
