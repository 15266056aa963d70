import datetime
import getpass
import hashlib
import re
from contextlib import contextmanager
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from machines import rotation
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

TABLE = VirtualMachine._meta.db_table
SECRETS = ("password", "ssh_key")


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


def store_under_a_lost_key(pk):
    """Give row `pk` a password token that no configured key decrypts; return the token."""
    foreign_token = Fernet(Fernet.generate_key()).encrypt(b"secret under a key nobody has").decode()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET password = %s WHERE id = %s", [foreign_token, pk])  # noqa: S608
    return foreign_token


def test_undecryptable_row_is_named_and_every_other_row_is_still_rotated(settings, key_a, key_b, make_vms):
    originals = make_vms(5)
    lost_pk = sorted(originals)[2]
    store_under_a_lost_key(lost_pk)
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


@pytest.mark.parametrize("mode", [(), ("--dry-run",)])
@pytest.mark.parametrize("size", ["0", "-1"])
def test_batch_size_below_one_is_refused_before_anything_is_written(settings, key_a, key_b, make_vms, size, mode):
    make_vms(2)
    before = raw_tokens()
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        rotate("--batch-size", size, *mode)

    assert raw_tokens() == before


@contextmanager
def write_failing_in_batch(monkeypatch, failing_batch, message="simulated failure"):
    """Make batch number `failing_batch` fail after its UPDATE ran, as a connection lost before COMMIT would."""
    real_write = rotation._write_tokens
    batches = 0

    def write_then_fail(*args):
        nonlocal batches
        batches += 1
        real_write(*args)
        if batches == failing_batch:
            raise DatabaseError(message)

    with monkeypatch.context() as patch:
        patch.setattr(rotation, "_write_tokens", write_then_fail)
        yield


@pytest.mark.parametrize("batches_done", [1, 2, 3])
def test_a_run_that_fails_after_k_batches_loses_nothing_and_a_rerun_finishes_it(
    settings, monkeypatch, key_a, key_b, make_vms, batches_done
):
    originals = make_vms(10)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    with write_failing_in_batch(monkeypatch, batches_done + 1), pytest.raises(DatabaseError):
        rotate("--batch-size", "3")

    # Committed batches are under the new key; the failed batch was rolled back with the rest under the old one.
    under_b = {pk for pk, tokens in raw_tokens().items() if all(decrypts_with(key_b, token) for token in tokens)}
    assert under_b == set(sorted(originals)[: 3 * batches_done])
    assert secrets_as_read() == originals

    output = rotate("--batch-size", "3")
    settings.FIELD_ENCRYPTION_KEYS = (key_b,)

    assert f"{10 - 3 * batches_done} of 10 rows rewritten" in output
    assert set(raw_tokens()) == set(originals)
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


# -- The audit trail: one event per real run, counts only -----------------------------------------


def rotation_events():
    return list(AuditEvent.objects.filter(action=Action.KEYS_ROTATE).order_by("pk"))


def test_a_run_records_one_audit_event_with_its_counts(settings, key_a, key_b, make_vms):
    make_vms(7)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    rotate("--batch-size", "3")

    [event] = rotation_events()
    assert event.actor is None
    assert event.actor_label == f"{getpass.getuser()} (manage.py)"
    assert event.details == {"rows_seen": 7, "rows_rewritten": 7, "undecryptable": 0, "batches": 3, "completed": True}


def test_a_run_that_fails_records_how_far_it_got_and_the_error_class_only(
    settings, monkeypatch, key_a, key_b, make_vms
):
    make_vms(10)
    token = raw_tokens()[min(raw_tokens())][0]
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    with write_failing_in_batch(monkeypatch, 3, message=f"bad value {token}"), pytest.raises(DatabaseError):
        rotate("--batch-size", "3")
    rotate("--batch-size", "3")

    failed, rerun = rotation_events()
    assert failed.details == {
        "rows_seen": 6,
        "rows_rewritten": 6,
        "undecryptable": 0,
        "batches": 2,
        "completed": False,
        "error": "DatabaseError",
    }
    assert rerun.details == {"rows_seen": 10, "rows_rewritten": 4, "undecryptable": 0, "batches": 4, "completed": True}


def test_when_the_audit_event_cannot_be_written_either_the_original_error_is_raised(
    settings, monkeypatch, key_a, key_b, make_vms
):
    make_vms(4)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    def audit_table_gone(**kwargs):
        raise RuntimeError("no audit table")

    monkeypatch.setattr(rotation, "audit_record", audit_table_gone)
    with write_failing_in_batch(monkeypatch, 2), pytest.raises(DatabaseError, match="simulated failure") as raised:
        rotate("--batch-size", "3")

    assert raised.value.__notes__ == ["The audit event for this run could not be written: RuntimeError."]


def test_a_run_that_leaves_undecryptable_rows_records_that_it_completed(settings, key_a, key_b, make_vms):
    originals = make_vms(4)
    store_under_a_lost_key(sorted(originals)[1])
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    with pytest.raises(CommandError):
        rotate()

    [event] = rotation_events()
    assert event.details == {"rows_seen": 4, "rows_rewritten": 3, "undecryptable": 1, "batches": 1, "completed": True}


def test_the_audit_event_holds_no_key_token_or_plaintext(settings, key_a, key_b, make_vms, ssh_private_key):
    originals = make_vms(3)
    foreign_token = store_under_a_lost_key(sorted(originals)[0])
    tokens_before = raw_tokens()
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    with pytest.raises(CommandError):
        rotate()

    stored = serializers.serialize("json", AuditEvent.objects.all())
    assert '"keys.rotate"' in stored
    tokens = [token for rows in (tokens_before, raw_tokens()) for pair in rows.values() for token in pair]
    ssh_lines = [line for line in ssh_private_key.splitlines() if "-----" not in line]
    passwords = [password for password, _key in originals.values()]
    for fragment in [key_a, key_b, foreign_token, *tokens, *passwords, *ssh_lines]:
        assert fragment not in stored


# -- --dry-run: count what each key decrypts, write nothing ---------------------------------------


def fingerprint(key):
    return hashlib.sha256(key.encode()).hexdigest()[:8]


@pytest.fixture
def mixed_keys(settings, key_a, key_b, make_vms):
    """Five VMs once key B is put in front of key A: two fully under A, one split between B (password)
    and A (SSH key), one with only a password, under B, and one without secrets."""
    under_a = make_vms(3)
    split_pk = max(under_a)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)
    VirtualMachine.objects.filter(pk=split_pk).update(password="re-set-under-b-77")
    VirtualMachineFactory(password="only-a-password-under-b")
    VirtualMachineFactory()


def test_dry_run_counts_rows_and_secrets_per_key_and_rows_to_rewrite(key_a, key_b, mixed_keys):
    output = rotate("--dry-run")

    assert output.splitlines() == [
        "accounts.AuthenticatorApp: 0 rows read in 0 batch(es), 0 without secrets, 0 to rewrite.",
        f"  key #1 (current, sha256 {fingerprint(key_b)}): 0 rows, 0 secrets",
        f"  key #2 (sha256 {fingerprint(key_a)}): 0 rows, 0 secrets",
        "  no key: 0 rows, 0 secrets",
        "machines.VirtualMachine: 5 rows read in 1 batch(es), 1 without secrets, 3 to rewrite.",
        f"  key #1 (current, sha256 {fingerprint(key_b)}): 2 rows, 2 secrets",
        f"  key #2 (sha256 {fingerprint(key_a)}): 3 rows, 5 secrets",
        "  no key: 0 rows, 0 secrets",
        "Dry run: every secret can be decrypted; nothing was written.",
    ]


def test_dry_run_writes_nothing_and_records_no_audit_event(mixed_keys):
    before = raw_tokens()

    rotate("--dry-run", "--batch-size", "2")

    assert raw_tokens() == before
    assert not AuditEvent.objects.exists()


VM_COUNT_LINE = "machines.VirtualMachine: 5 rows read in 1 batch(es), 1 without secrets, 0 to rewrite."


def test_dry_run_after_a_rotation_finds_every_secret_under_the_current_key(key_b, mixed_keys):
    rotate()

    output = rotate("--dry-run")

    vm_lines = output.splitlines()[output.splitlines().index(VM_COUNT_LINE) :]
    assert vm_lines[1] == f"  key #1 (current, sha256 {fingerprint(key_b)}): 4 rows, 7 secrets"
    assert vm_lines[2].endswith("0 rows, 0 secrets")


def test_dry_run_prints_no_key_token_or_plaintext(key_a, key_b, mixed_keys, ssh_private_key):
    output = rotate("--dry-run")

    tokens = [token for pair in raw_tokens().values() for token in pair if token]
    ssh_lines = [line for line in ssh_private_key.splitlines() if "-----" not in line]
    for fragment in [key_a, key_b, *tokens, "Tr0ub4dor", "under-b", *ssh_lines]:
        assert fragment not in output


def test_dry_run_reads_in_batches_of_the_given_size(settings, key_a, key_b, make_vms):
    make_vms(10)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)

    with CaptureQueriesContext(connection) as queries:
        output = rotate("--dry-run", "--batch-size", "3")

    assert "10 rows read in 4 batch(es)" in output
    selects = [query["sql"] for query in queries.captured_queries if query["sql"].lstrip().upper().startswith("SELECT")]
    assert len([sql for sql in selects if TABLE in sql]) == 5
    for sql in selects:
        assert re.search(r"\bLIMIT 3\b", sql), sql


@pytest.mark.parametrize(("encrypting_key", "attempts_per_secret"), [("key_b", 1), ("key_a", 2)])
def test_dry_run_stops_at_the_first_key_that_decrypts(
    settings, monkeypatch, request, make_vms, key_a, key_b, encrypting_key, attempts_per_secret
):
    settings.FIELD_ENCRYPTION_KEYS = (request.getfixturevalue(encrypting_key),)
    make_vms(3)
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)
    attempts = []
    real_decrypt = Fernet.decrypt
    monkeypatch.setattr(
        Fernet, "decrypt", lambda fernet, token, *args: attempts.append(token) or real_decrypt(fernet, token, *args)
    )

    rotate("--dry-run")

    assert len(attempts) == 6 * attempts_per_secret


def test_dry_run_names_undecryptable_rows_with_the_same_error_as_a_real_run(settings, key_a, key_b, make_vms):
    originals = make_vms(4)
    lost_pk = sorted(originals)[1]
    store_under_a_lost_key(lost_pk)
    before = raw_tokens()
    settings.FIELD_ENCRYPTION_KEYS = (key_b, key_a)
    out = StringIO()

    with pytest.raises(CommandError) as dry:
        call_command("rotate_encryption_keys", "--dry-run", stdout=out)
    assert raw_tokens() == before
    with pytest.raises(CommandError) as real:
        rotate()

    assert str(dry.value) == str(real.value)
    assert f"machines.VirtualMachine #{lost_pk}." in str(dry.value)
    assert "  no key: 1 rows, 1 secrets" in out.getvalue()
    assert "3 to rewrite." in out.getvalue()
