"""When the key that encrypted the secrets is gone: every page keeps working, nothing is overwritten.

A VM's secrets are encrypted under key A (the test key); then FIELD_ENCRYPTION_KEYS holds only an
unrelated key B, as after a lost or mistyped key. Owners and admins must still be able to see, edit
and delete the VM, the reveal page must say what is wrong, and no save may replace a stored token.
The rotation command's own behaviour under a partly lost key is in test_rotate_encryption_keys.py.
"""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts.tests.factories import DEFAULT_PASSWORD
from audit.models import Action, AuditEvent
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory
from machines.tests.test_admin import form_data

pytestmark = pytest.mark.django_db

VM_PASSWORD = "lost-key-vm-password-31"
CANNOT_DECRYPT = "Cannot decrypt a stored secret: check FIELD_ENCRYPTION_KEYS"


@pytest.fixture
def vm(owner, ssh_private_key):
    return VirtualMachineFactory(
        owner=owner, name="db-under-key-a", host="db.lab.example", password=VM_PASSWORD, ssh_key=ssh_private_key
    )


def stored_tokens():
    """{pk: (password token, SSH key token)} exactly as the database holds them."""
    rows = VirtualMachine.objects.values_list("pk", "password", "ssh_key")
    return {pk: tuple(secret.token if secret else None for secret in secrets) for pk, *secrets in rows}


@pytest.fixture
def tokens_under_key_a(vm, settings):
    """The VM's tokens, read before the key is lost; then only the unrelated key B is configured."""
    tokens = stored_tokens()
    assert all(tokens[vm.pk])
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)
    return tokens


def secret_fragments(ssh_private_key):
    return [VM_PASSWORD, *(line for line in ssh_private_key.splitlines() if "-----" not in line)]


def vm_url(name, vm):
    return reverse(f"machines:{name}", args=[vm.pk])


def edit_data(**changes):
    return {
        "name": "db-under-key-a",
        "host": "db.lab.example",
        "port": "22",
        "username": "labuser",
        "opened_version": "1",
        **changes,
    }


# -- The owner's pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["dashboard", "detail", "edit", "delete"])
def test_the_owners_pages_answer_200_and_overwrite_nothing(client, vm, tokens_under_key_a, page):
    url = reverse("dashboard") if page == "dashboard" else vm_url(page, vm)

    response = client.get(url)

    assert response.status_code == 200
    assert "db-under-key-a" in response.text
    assert stored_tokens() == tokens_under_key_a


def test_renaming_the_vm_saves_the_name_and_keeps_the_tokens_byte_identical(client, vm, tokens_under_key_a):
    response = client.post(vm_url("edit", vm), edit_data(name="db-renamed"))

    assert response.status_code == 302
    assert response["Location"] == vm_url("detail", vm)
    assert VirtualMachine.objects.values_list("name", flat=True).get(pk=vm.pk) == "db-renamed"
    assert stored_tokens() == tokens_under_key_a


def test_the_vm_can_still_be_deleted(client, vm, tokens_under_key_a):
    response = client.post(vm_url("delete", vm))

    assert response.status_code == 302
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()


@pytest.mark.parametrize("secret", ["password", "ssh_key"])
def test_revealing_says_the_key_is_missing_and_shows_no_secret(client, vm, tokens_under_key_a, ssh_private_key, secret):
    response = client.post(vm_url("reveal", vm), {"secret": secret, "account_password": DEFAULT_PASSWORD})

    assert response.status_code == 200
    assert "Content-Disposition" not in response
    assert CANNOT_DECRYPT in response.text
    for fragment in [*secret_fragments(ssh_private_key), *tokens_under_key_a[vm.pk]]:
        assert fragment not in response.text
    assert not AuditEvent.objects.filter(action=Action.SECRET_REVEAL).exists()
    assert stored_tokens() == tokens_under_key_a


# -- The Django admin -------------------------------------------------------------------------------


def admin_change_url(vm):
    return reverse("admin:machines_virtualmachine_change", args=[vm.pk])


def test_the_admin_changelist_and_change_form_answer_200(client, admin, vm, tokens_under_key_a, ssh_private_key):
    client.force_login(admin)

    pages = [client.get(reverse("admin:machines_virtualmachine_changelist")), client.get(admin_change_url(vm))]

    for response in pages:
        assert response.status_code == 200
        assert "db-under-key-a" in response.text
        for fragment in secret_fragments(ssh_private_key):
            assert fragment not in response.text
    assert stored_tokens() == tokens_under_key_a


def test_saving_the_admin_change_form_keeps_the_tokens_byte_identical(client, admin, vm, tokens_under_key_a):
    client.force_login(admin)
    url = admin_change_url(vm)

    response = client.post(url, form_data(client, url, name="db-renamed-by-admin"))

    assert response.status_code == 302
    assert VirtualMachine.objects.values_list("name", flat=True).get(pk=vm.pk) == "db-renamed-by-admin"
    assert stored_tokens() == tokens_under_key_a


# -- The rotation command ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [(), ("--dry-run",)])
def test_rotating_under_the_wrong_key_names_the_rows_and_changes_no_token(settings, vm, mode):
    other = VirtualMachineFactory(owner=vm.owner, password="another-lost-password-5")
    tokens_before = stored_tokens()
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)

    with pytest.raises(CommandError) as raised:
        call_command("rotate_encryption_keys", *mode, stdout=StringIO())

    assert "2 row(s) could not be decrypted by any key and were left unchanged: " in str(raised.value)
    assert f"machines.VirtualMachine #{vm.pk}, machines.VirtualMachine #{other.pk}." in str(raised.value)
    assert stored_tokens() == tokens_before
