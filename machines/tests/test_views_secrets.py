import pytest
from cryptography.hazmat.primitives import serialization
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import Action, AuditEvent
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory
from machines.tests.keys import PASSPHRASE_PROTECTED_KEY
from machines.validators import SSH_KEY_MAX_BYTES

pytestmark = pytest.mark.django_db

OLD_PASSWORD = "old-vm-password-123"
NEW_PASSWORD = "new-vm-password-456"


def url(name, vm):
    return reverse(f"machines:{name}", args=[vm.pk])


def stored(vm):
    return VirtualMachine.objects.get(pk=vm.pk)


def key_body(key):
    """A line from inside a key: what would show if the key were echoed back."""
    return key.splitlines()[1]


@pytest.fixture
def vm(owner, ssh_private_key):
    return VirtualMachineFactory(owner=owner, name="gpu", password=OLD_PASSWORD, ssh_key=ssh_private_key)


@pytest.fixture
def bare_vm(owner):
    return VirtualMachineFactory(owner=owner, name="bare")


# -- Password ----------------------------------------------------------------------------------------


def test_the_password_page_says_a_password_is_set_without_showing_it(client, vm):
    response = client.get(url("password", vm))

    assert response.status_code == 200
    assert "A password is set" in response.text
    assert "Remove the password" in response.text
    assert OLD_PASSWORD not in response.text


def test_a_vm_without_password_offers_no_remove_button(client, bare_vm):
    response = client.get(url("password", bare_vm))

    assert "No password set" in response.text
    assert "Remove the password" not in response.text


def test_setting_a_password_replaces_it_with_a_message_and_an_audit_row(client, vm):
    response = client.post(url("password", vm), {"password": NEW_PASSWORD}, follow=True)

    assert stored(vm).password == NEW_PASSWORD
    assert response.redirect_chain == [(url("detail", vm), 302)]
    assert "The password of “gpu” was saved." in response.text
    assert NEW_PASSWORD not in response.text
    event = AuditEvent.objects.get(action=Action.SECRET_SET)
    assert event.details == {"field": "password"}


def test_removing_the_password_clears_it(client, vm):
    response = client.post(url("password", vm), {"remove": "1"}, follow=True)

    assert stored(vm).password is None
    assert "The password of “gpu” was removed." in response.text
    assert AuditEvent.objects.get(action=Action.SECRET_REMOVE).details == {"field": "password"}


def test_removing_a_password_that_is_not_set_says_so_and_records_nothing(client, bare_vm):
    response = client.post(url("password", bare_vm), {"remove": "1"}, follow=True)

    assert "had no password to remove" in response.text
    assert not AuditEvent.objects.exclude(action=Action.LOGIN).exists()


def test_both_setting_and_removing_the_password_is_refused(client, vm):
    response = client.post(url("password", vm), {"password": NEW_PASSWORD, "remove": "1"})

    assert response.status_code == 200
    assert "Either set a new value or remove it, not both." in response.text
    assert NEW_PASSWORD not in response.text
    assert stored(vm).password == OLD_PASSWORD


def test_an_empty_password_is_refused(client, vm):
    response = client.post(url("password", vm), {"password": ""})

    assert "Enter the new password." in response.text
    assert stored(vm).password == OLD_PASSWORD


def test_a_too_long_password_is_refused_and_not_echoed_back(client, vm):
    too_long = "p" * 1025

    response = client.post(url("password", vm), {"password": too_long})

    assert "at most 1024 characters" in response.text
    assert too_long not in response.text
    assert stored(vm).password == OLD_PASSWORD


# -- SSH key -----------------------------------------------------------------------------------------


def test_the_ssh_key_page_says_a_key_is_set_without_showing_it(client, vm, ssh_private_key):
    response = client.get(url("ssh_key", vm))

    assert response.status_code == 200
    assert "An SSH key is set" in response.text
    assert 'enctype="multipart/form-data"' in response.text
    assert key_body(ssh_private_key) not in response.text


def test_a_pasted_key_is_saved_normalised(client, bare_vm, rsa_pem_private_key):
    response = client.post(url("ssh_key", bare_vm), {"ssh_key": rsa_pem_private_key.replace("\n", "\r\n")}, follow=True)

    assert stored(bare_vm).ssh_key == rsa_pem_private_key
    assert "The SSH key of “bare” was saved." in response.text
    assert AuditEvent.objects.get(action=Action.SECRET_SET).details == {"field": "ssh_key"}


def test_an_uploaded_key_file_is_saved(client, bare_vm, ssh_private_key):
    client.post(url("ssh_key", bare_vm), {"ssh_key_file": SimpleUploadedFile("id_ed25519", ssh_private_key.encode())})

    assert stored(bare_vm).ssh_key == ssh_private_key


def test_removing_the_key_clears_it(client, vm):
    client.post(url("ssh_key", vm), {"remove": "1"})

    assert stored(vm).ssh_key is None
    assert AuditEvent.objects.get(action=Action.SECRET_REMOVE).details == {"field": "ssh_key"}


def public_key_of(private_key):
    return (
        serialization.load_ssh_private_key(private_key.encode(), password=None)
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


# Each case: the text submitted, and a piece of it that would show if it were echoed back.
BAD_KEYS = {
    "public key": lambda key: (public_key_of(key) + " me@laptop", public_key_of(key).split()[1][:40]),
    "garbage": lambda key: ("garbage that is no key", "garbage that is no key"),
    "passphrase": lambda key: (PASSPHRASE_PROTECTED_KEY, key_body(PASSPHRASE_PROTECTED_KEY)),
    "too large": lambda key: (key + "#" * SSH_KEY_MAX_BYTES, key_body(key)),
}
BAD_KEY_MESSAGES = {
    "public key": "This is a public key",
    "garbage": "This is not a private key in OpenSSH or PEM format.",
    "passphrase": "protected by a passphrase",
    "too large": "larger than 16 KiB",
}


@pytest.mark.parametrize("case", BAD_KEYS)
@pytest.mark.parametrize("how", ["pasted", "uploaded"])
def test_what_is_not_a_usable_private_key_is_refused_not_saved_and_not_echoed(client, vm, ssh_private_key, case, how):
    text, marker = BAD_KEYS[case](ssh_private_key)
    data = {"ssh_key": text} if how == "pasted" else {"ssh_key_file": SimpleUploadedFile("key", text.encode())}

    response = client.post(url("ssh_key", vm), data)

    assert response.status_code == 200
    assert BAD_KEY_MESSAGES[case] in response.text
    assert marker not in response.text
    assert stored(vm).ssh_key == ssh_private_key
    assert not AuditEvent.objects.exclude(action=Action.LOGIN).exists()


def test_a_file_that_is_not_utf8_text_is_refused_with_a_clear_message(client, vm, ssh_private_key):
    response = client.post(url("ssh_key", vm), {"ssh_key_file": SimpleUploadedFile("id", b"\x89PNG\r\n\x1a\n\xff")})

    assert "The file is not a text file (UTF-8)" in response.text
    assert stored(vm).ssh_key == ssh_private_key


def test_an_empty_submission_asks_for_a_key(client, vm):
    response = client.post(url("ssh_key", vm), {"ssh_key": "   \n"})

    assert "Paste a private key or upload its file." in response.text


def test_both_setting_and_removing_the_key_is_refused_and_the_new_key_not_echoed(client, vm, rsa_pem_private_key):
    response = client.post(url("ssh_key", vm), {"ssh_key": rsa_pem_private_key, "remove": "1"})

    assert "Either set a new value or remove it, not both." in response.text
    assert key_body(rsa_pem_private_key) not in response.text
    assert stored(vm).ssh_key is not None and stored(vm).ssh_key != rsa_pem_private_key


def test_a_key_both_pasted_and_uploaded_is_refused(client, bare_vm, ssh_private_key):
    upload = SimpleUploadedFile("id_ed25519", ssh_private_key.encode())

    response = client.post(url("ssh_key", bare_vm), {"ssh_key": ssh_private_key, "ssh_key_file": upload})

    assert "Paste the key or upload its file, not both." in response.text
    assert key_body(ssh_private_key) not in response.text
    assert stored(bare_vm).ssh_key is None
