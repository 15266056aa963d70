from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.models import AuditEvent
from machines.models import VirtualMachine
from machines.rotation import key_fingerprint
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

TABLE = VirtualMachine._meta.db_table


def check_secrets(*args):
    out = StringIO()
    call_command("check_secrets", *args, stdout=out)
    return out.getvalue()


def raw_tokens():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, password, ssh_key FROM {TABLE} ORDER BY id")  # noqa: S608
        return cursor.fetchall()


@pytest.fixture
def two_keys(settings, ssh_private_key):
    """Keys (B, A): one VM with both secrets under A, one with a password under B, one without secrets."""
    key_a, key_b = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    VirtualMachineFactory(password="under-a-Tr0ub4dor", ssh_key=ssh_private_key)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)
    VirtualMachineFactory(password="under-b-Tr0ub4dor")
    VirtualMachineFactory()
    return key_a, key_b


def test_counts_rows_and_secrets_per_key_position_and_passes_when_every_secret_reads(two_keys):
    key_a, key_b = two_keys

    output = check_secrets()

    assert output.splitlines() == [
        "accounts.AuthenticatorApp: 0 rows read in 0 batch(es), 0 without secrets, 0 to rewrite.",
        f"  key #1 (current, sha256 {key_fingerprint(key_b)}): 0 rows, 0 secrets",
        f"  key #2 (sha256 {key_fingerprint(key_a)}): 0 rows, 0 secrets",
        "  no key: 0 rows, 0 secrets",
        "machines.VirtualMachine: 3 rows read in 1 batch(es), 1 without secrets, 1 to rewrite.",
        f"  key #1 (current, sha256 {key_fingerprint(key_b)}): 1 rows, 1 secrets",
        f"  key #2 (sha256 {key_fingerprint(key_a)}): 1 rows, 2 secrets",
        "  no key: 0 rows, 0 secrets",
        "All 3 secrets can be decrypted with the configured keys.",
    ]


def test_prints_the_same_census_as_rotate_encryption_keys_dry_run(two_keys):
    dry_run = StringIO()
    call_command("rotate_encryption_keys", "--dry-run", stdout=dry_run)

    assert check_secrets().splitlines()[:-1] == dry_run.getvalue().splitlines()[:-1]


def test_names_the_rows_no_key_decrypts_and_fails(two_keys):
    lost = VirtualMachineFactory(password="will-be-lost")
    foreign = Fernet(Fernet.generate_key()).encrypt(b"under a key nobody has").decode()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET password = %s WHERE id = %s", [foreign, lost.pk])  # noqa: S608
    out = StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("check_secrets", stdout=out)

    assert str(raised.value) == (
        f"1 of 4 secrets, in 1 row(s), cannot be decrypted by any configured key: machines.VirtualMachine #{lost.pk}. "
        "Add the key that encrypted them to FIELD_ENCRYPTION_KEYS and run check_secrets again."
    )
    assert "  no key: 1 rows, 1 secrets" in out.getvalue()


def test_writes_nothing_and_records_nothing(two_keys):
    before = raw_tokens()

    check_secrets("--batch-size", "1")

    assert raw_tokens() == before
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("size", ["0", "-3"])
def test_batch_size_below_one_is_refused(size):
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        check_secrets("--batch-size", size)
