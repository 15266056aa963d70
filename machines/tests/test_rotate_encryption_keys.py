import datetime
import re
from contextlib import contextmanager
from io import StringIO
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

TABLE = VirtualMachine._meta.db_table
SECRETS = ("password", "ssh_key")


class SimulatedCrash(Exception):
    pass


@pytest.fixture
def key_a(settings):
    return settings.FIELD_ENCRYPTION_KEYS[0]


@pytest.fixture
def key_b():
    return Fernet.generate_key().decode()


@pytest.fixture
def make_vms(ssh_private_key):
    """Create `count` VMs with both secrets under the current first key; return {pk: (password, ssh_key)}."""

    def make(count):
        owner = UserFactory()
        vms = [
            VirtualMachineFactory(owner=owner, password=f"pw-{n}-Tr0ub4dor", ssh_key=ssh_private_key)
            for n in range(count)
        ]
        return {vm.pk: (vm.password, vm.ssh_key) for vm in vms}

    return make


def rotate(*args):
    out = StringIO()
    call_command("rotate_encryption_keys", *args, stdout=out)
    return out.getvalue()


def raw_tokens():
    """{pk: (password token, ssh_key token)} exactly as stored."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, password, ssh_key FROM {TABLE} ORDER BY id")  # noqa: S608
        return {pk: (password, ssh_key) for pk, password, ssh_key in cursor.fetchall()}


def secrets_as_read():
    return {vm.pk: (vm.password, vm.ssh_key) for vm in VirtualMachine.objects.all()}


def decrypts_with(key, token):
    try:
        Fernet(key).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def test_rotation_reports_how_many_rows_it_rewrote(settings, key_a, key_b, make_vms):
    make_vms(3)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    output = rotate()

    assert "machines.VirtualMachine: 3 of 3 rows rewritten in 1 batch(es)." in output
    assert "Every secret is now encrypted with the first key." in output


def test_after_rotation_the_new_key_alone_reads_every_secret(settings, key_a, key_b, make_vms):
    originals = make_vms(4)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    rotate()
    settings.FIELD_ENCRYPTION_KEYS = (key_b,)

    assert secrets_as_read() == originals


def test_rotation_rewrites_the_stored_tokens_under_the_new_key(settings, key_a, key_b, make_vms):
    originals = make_vms(2)
    before = raw_tokens()
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    rotate()

    for pk, tokens in raw_tokens().items():
        for token, old_token, plaintext in zip(tokens, before[pk], originals[pk], strict=True):
            assert token != old_token
            assert Fernet(key_b).decrypt(token.encode()).decode() == plaintext
            assert not decrypts_with(key_a, token)


def test_second_run_rewrites_nothing_and_leaves_tokens_byte_identical(settings, key_a, key_b, make_vms):
    make_vms(3)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)
    rotate()
    after_first_run = raw_tokens()

    output = rotate()

    assert "machines.VirtualMachine: 0 of 3 rows rewritten" in output
    assert raw_tokens() == after_first_run


def test_rows_already_under_the_new_key_are_left_alone(settings, key_a, key_b, make_vms):
    make_vms(2)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)
    fresh = VirtualMachineFactory(password="written-after-the-key-change")
    fresh_tokens = raw_tokens()[fresh.pk]

    output = rotate()

    assert "2 of 3 rows rewritten" in output
    assert raw_tokens()[fresh.pk] == fresh_tokens


def test_row_with_one_secret_already_under_the_new_key_gets_only_the_other_rotated(
    settings, key_a, key_b, ssh_private_key
):
    vm = VirtualMachineFactory(password="old-password-11", ssh_key=ssh_private_key)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)
    VirtualMachine.objects.filter(pk=vm.pk).update(password="new-password-22")
    new_password_token = raw_tokens()[vm.pk][0]

    output = rotate()
    settings.FIELD_ENCRYPTION_KEYS = (key_b,)

    assert "1 of 1 rows rewritten" in output
    assert raw_tokens()[vm.pk][0] == new_password_token
    assert secrets_as_read() == {vm.pk: ("new-password-22", ssh_private_key)}


def test_rotation_works_in_batches_and_reaches_every_row(settings, key_a, key_b, make_vms):
    originals = make_vms(10)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    output = rotate("--batch-size", "3")
    settings.FIELD_ENCRYPTION_KEYS = (key_b,)

    assert "machines.VirtualMachine: 10 of 10 rows rewritten in 4 batch(es)." in output
    assert secrets_as_read() == originals


def test_every_read_is_limited_to_one_batch(settings, key_a, key_b, make_vms):
    make_vms(10)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    with CaptureQueriesContext(connection) as queries:
        rotate("--batch-size", "3")

    selects = [query["sql"] for query in queries.captured_queries if query["sql"].lstrip().upper().startswith("SELECT")]
    assert selects
    for sql in selects:
        assert re.search(r"\bLIMIT 3\b", sql), sql


def test_undecryptable_row_is_named_and_every_other_row_is_still_rotated(settings, key_a, key_b, make_vms):
    originals = make_vms(5)
    lost_pk = sorted(originals)[2]
    foreign_token = Fernet(Fernet.generate_key()).encrypt(b"secret under a key nobody has").decode()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET password = %s WHERE id = %s", [foreign_token, lost_pk])  # noqa: S608
    lost_tokens = raw_tokens()[lost_pk]
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    # Batches of 2 put the bad row next to a good one, which must still be rotated.
    with pytest.raises(CommandError) as raised:
        rotate("--batch-size", "2")

    assert re.search(rf"1 row\(s\) could not be decrypted .*: machines\.VirtualMachine #{lost_pk}\.", str(raised.value))
    assert raw_tokens()[lost_pk] == lost_tokens
    for pk, tokens in raw_tokens().items():
        if pk != lost_pk:
            assert all(decrypts_with(key_b, token) for token in tokens), pk


def test_rows_with_one_secret_or_none_are_rotated_and_keep_their_empty_secrets(settings, key_a, key_b, ssh_private_key):
    password_only = VirtualMachineFactory(password="only-a-password-42")
    key_only = VirtualMachineFactory(ssh_key=ssh_private_key)
    no_secret = VirtualMachineFactory()
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    output = rotate()
    settings.FIELD_ENCRYPTION_KEYS = (key_b,)

    assert "2 of 3 rows rewritten" in output
    assert secrets_as_read() == {
        password_only.pk: ("only-a-password-42", None),
        key_only.pk: (None, ssh_private_key),
        no_secret.pk: (None, None),
    }
    assert raw_tokens()[no_secret.pk] == (None, None)


def test_rotation_does_not_change_updated_at(settings, key_a, key_b, make_vms):
    make_vms(3)
    long_ago = datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    VirtualMachine.objects.update(updated_at=long_ago)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    output = rotate()

    assert "3 of 3 rows rewritten" in output
    assert set(VirtualMachine.objects.values_list("updated_at", flat=True)) == {long_ago}


@pytest.mark.parametrize("size", ["0", "-1"])
def test_batch_size_below_one_is_refused_before_anything_is_written(settings, key_a, key_b, make_vms, size):
    make_vms(2)
    before = raw_tokens()
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        rotate("--batch-size", size)

    assert raw_tokens() == before


def test_rerun_after_a_crash_in_the_second_batch_rotates_every_row(settings, monkeypatch, key_a, key_b, make_vms):
    originals = make_vms(7)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)
    batches = 0

    @contextmanager
    def atomic_that_crashes_in_the_second_batch():
        nonlocal batches
        batches += 1
        with transaction.atomic():
            yield
            if batches == 2:
                raise SimulatedCrash

    with monkeypatch.context() as patch, pytest.raises(SimulatedCrash):
        patch.setattr("machines.rotation.transaction", SimpleNamespace(atomic=atomic_that_crashes_in_the_second_batch))
        rotate("--batch-size", "3")

    # The first batch is under the new key, the rest still under the old one, and nothing is lost.
    under_b = {pk for pk, (password, _key) in raw_tokens().items() if decrypts_with(key_b, password)}
    assert under_b == set(sorted(originals)[:3])
    assert secrets_as_read() == originals

    output = rotate("--batch-size", "3")
    settings.FIELD_ENCRYPTION_KEYS = (key_b,)

    assert "4 of 7 rows rewritten" in output
    assert secrets_as_read() == originals


@pytest.mark.skipif(not connection.features.has_select_for_update, reason="the database has no row locks")
def test_each_batch_is_read_with_row_locks_so_a_concurrent_save_is_not_overwritten(settings, key_a, key_b, make_vms):
    make_vms(2)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    with CaptureQueriesContext(connection) as queries:
        rotate()

    batch_reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and "machines_virtualmachine" in q["sql"]]
    assert batch_reads
    assert all("FOR UPDATE" in sql for sql in batch_reads)
