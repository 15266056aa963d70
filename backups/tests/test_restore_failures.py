"""Every way a restore can go wrong, each with the message the operator reads and the database as it is afterwards.

Real `manage.py restore` runs in subprocesses against scratch databases of this pass's kind (PostgreSQL or SQLite),
from the backups that backups/tests/conftest.py makes of a real lab.
"""

import hashlib
import io
import json
import re
import tarfile

from backups.tests.conftest import copy_backup
from backups.tests.drill import Operator, new_key, on_postgres
from backups.tests.test_drill import restore_events, without_restore_events

UNTOUCHED = "Nothing was restored: the database was not touched."


def assert_untouched(target):
    """A target that was empty before the restore is empty after it; an SQLite file was not even created."""
    assert target.tables() == []
    if not on_postgres():
        assert not target.path.exists()


def rewrite_checksum(backup):
    digest = hashlib.sha256(backup.read_bytes()).hexdigest()
    backup.with_name(backup.name + ".sha256").write_text(f"{digest}  {backup.name}\n")


def rewrite_archive(backup, manifest: bytes, dump: bytes):
    """Write the backup anew with this manifest and dump, and a checksum that matches it."""
    with tarfile.open(backup, "w") as tar:
        for name, data in (("manifest.json", manifest), (json.loads(manifest)["dump"], dump)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    rewrite_checksum(backup)
    return backup


def archive_contents(backup):
    with tarfile.open(backup) as tar:
        manifest = tar.extractfile("manifest.json").read()
        return manifest, tar.extractfile(json.loads(manifest)["dump"]).read()


def with_damaged_dump(backup):
    """Cut the end off the database dump inside the backup, and write a checksum that matches the result: a backup
    damaged before it was hashed (or re-hashed by someone), which only the dump's own checks can catch."""
    manifest, dump = archive_contents(backup)
    return rewrite_archive(backup, manifest, dump[: len(dump) * 98 // 100])


def unreadable_rows(snapshot):
    return [f"machines.VirtualMachine #{pk}" for pk, pair in snapshot["secrets"].items() if any(pair)]


def test_restore_under_the_wrong_keys_keeps_the_data_says_how_many_secrets_cannot_be_read_and_exits_non_zero(
    lab, target
):
    wrong_key = new_key()

    run = lab.operator.manage(target.url, "restore", str(lab.backup), FIELD_ENCRYPTION_KEYS=wrong_key)

    fingerprint = hashlib.sha256(lab.operator.keys.encode()).hexdigest()[:8]
    assert run.code == 1
    assert (
        f"CommandError: Restored, but 7 of 7 secrets (in 4 rows: {', '.join(unreadable_rows(lab.before))}) cannot be "
        "decrypted with the configured FIELD_ENCRYPTION_KEYS. The restored data was left as it is. Set "
        f"FIELD_ENCRYPTION_KEYS to the keys the backup was made with (sha256 {fingerprint}), then run "
        "`manage.py check_secrets`."
    ) in run.said
    assert "no key: 4 rows, 7 secrets" in run.said
    # Every row is there with its tokens as they were, so the right keys read everything afterwards.
    after = lab.operator.snapshot(target.url)
    assert without_restore_events(after) == lab.before
    [event] = restore_events(after)
    assert event["fields"]["details"]["secrets_unreadable"] == 7
    wrong = lab.operator.manage(target.url, "check_secrets", FIELD_ENCRYPTION_KEYS=wrong_key)
    assert wrong.code == 1
    assert "7 of 7 secrets, in 4 row(s), cannot be decrypted by any configured key" in wrong.said
    right = lab.operator.must(target.url, "check_secrets")
    assert "All 7 secrets can be decrypted with the configured keys." in right.said


def test_truncated_backup_is_refused_by_its_checksum_before_the_database_is_touched(lab, target, tmp_path):
    backup = copy_backup(lab.backup, tmp_path)
    backup.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])

    run = lab.operator.manage(target.url, "restore", str(backup))

    assert run.code == 1
    assert re.search(
        rf"CommandError: SHA-256 mismatch: {re.escape(backup.name)} hashes to [0-9a-f]{{16}}…, but "
        rf"{re.escape(backup.name)}\.sha256 says [0-9a-f]{{16}}…\. The file is damaged, truncated or was changed "
        rf"since the backup was made\. {UNTOUCHED}",
        run.said,
    )
    assert_untouched(target)


def test_backup_whose_sha256_does_not_match_is_refused_before_the_database_is_touched(lab, target, tmp_path):
    backup = copy_backup(lab.backup, tmp_path)
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0x01
    backup.write_bytes(bytes(data))

    run = lab.operator.manage(target.url, "restore", str(backup))

    assert run.code == 1
    assert f"CommandError: SHA-256 mismatch: {backup.name} hashes to" in run.said
    assert f"The file is damaged, truncated or was changed since the backup was made. {UNTOUCHED}" in run.said
    assert_untouched(target)


def test_backup_without_its_sha256_file_is_refused_before_the_database_is_touched(lab, target, tmp_path):
    backup = copy_backup(lab.backup, tmp_path)
    backup.with_name(backup.name + ".sha256").unlink()

    run = lab.operator.manage(target.url, "restore", str(backup))

    assert run.code == 1
    assert (
        f"CommandError: No checksum file beside the backup: {backup.name}.sha256 is missing. A backup is restored "
        f"only when its SHA-256 can be checked: copy the .sha256 file that was written with it. {UNTOUCHED}"
    ) in run.said
    assert_untouched(target)


def test_damaged_dump_with_a_matching_checksum_leaves_nothing_half_written(lab, target, tmp_path):
    backup = with_damaged_dump(copy_backup(lab.backup, tmp_path))

    run = lab.operator.manage(target.url, "restore", str(backup))

    assert run.code == 1
    if on_postgres():
        # The table of contents is whole, so pg_restore starts, fails on the missing data and rolls back.
        assert (
            "CommandError: pg_restore failed, and rolled back everything it had loaded: pg_restore: error: "
            "could not read from input file: end of file"
        ) in run.said
    else:
        assert "CommandError: The database copy in the backup is damaged:" in run.said
        assert UNTOUCHED in run.said
    assert_untouched(target)


def test_rows_that_differ_from_the_backups_own_counts_fail_the_verification(lab, target, tmp_path):
    backup = copy_backup(lab.backup, tmp_path)
    manifest, dump = archive_contents(backup)
    claimed = json.loads(manifest)
    users = next(table for table in claimed["tables"] if table["model"] == "accounts.User")
    users["rows"] += 1
    rewrite_archive(backup, json.dumps(claimed).encode(), dump)

    run = lab.operator.manage(target.url, "restore", str(backup))

    assert run.code == 1
    assert (
        f"CommandError: The restored rows differ from the backup's own counts (accounts.User: {users['rows'] - 1} of "
        f"{users['rows']}). The restored data was left as it is: check it before using it."
    ) in run.said
    assert without_restore_events(lab.operator.snapshot(target.url)) == lab.before


def test_backup_from_an_older_schema_is_restored_migrated_forward_and_verified(schema_labs, target):
    older, _newer = schema_labs
    assert "-audit0007-" in older.backup.name
    assert "connect" not in older.backup.name

    run = older.operator.manage(target.url, "restore", str(older.backup))

    assert run.code == 0, run.said
    migrated = re.search(r"Migrated forward: (\d+) migration\(s\) newer than the backup \(([^)]*)\)", run.said)
    assert migrated, run.said
    assert set(migrated.group(2).split(", ")) == {
        "audit.0008_backup_actions",
        "audit.0009_translated_model_names",
        "connect.0001_reachability",
    }
    assert "Restore complete and verified:" in run.said
    after = older.operator.snapshot(target.url)
    assert without_restore_events(after) == older.before
    [event] = restore_events(after)
    assert event["fields"]["details"]["migrations_applied"] == int(migrated.group(1))


def test_backup_from_a_newer_schema_is_refused_before_the_database_is_touched(schema_labs, target):
    _older, newer = schema_labs
    assert "-machines0099-" in newer.backup.name

    run = newer.operator.manage(target.url, "restore", str(newer.backup))

    assert run.code == 1
    assert (
        "CommandError: This backup's schema is newer than this code: it has 1 migration(s) this code does not have "
        "(machines.0099_from_the_future). Restore it with the VM Lab version that made it, or a newer one. "
        f"{UNTOUCHED}"
    ) in run.said
    assert_untouched(target)


def previous_lab(operator, target):
    """Give the target a VM Lab database of its own, with one user, as a server that is already in use."""
    operator.shell(
        target.url,
        "from django.core.management import call_command; call_command('migrate', verbosity=0); "
        "from accounts.tests.factories import UserFactory; UserFactory(username='already-here')",
    )
    return target.tables()


def usernames(database):
    return [name for (name,) in database.query("SELECT username FROM accounts_user ORDER BY username")]


def test_database_that_is_not_empty_is_refused_without_force_and_left_as_it_was(lab, target):
    tables = previous_lab(lab.operator, target)

    run = lab.operator.manage(target.url, "restore", str(lab.backup))

    assert run.code == 1
    assert re.search(
        rf"CommandError: The (PostgreSQL|SQLite) database \S+ (on \S+ )?is not empty: it has {len(tables)} tables "
        r"\(.*, …\)\. Restore into an empty database, or add --force to replace this one \(it is backed up first\)\. "
        + re.escape(UNTOUCHED),
        run.said,
    )
    assert target.tables() == tables
    assert usernames(target) == ["already-here"]
    assert list(lab.operator.backup_dir.glob("*.tar")) == [lab.backup]


def test_force_backs_up_what_the_database_held_then_replaces_it(lab, target, scratch, tmp_path):
    operator = Operator(backup_dir=tmp_path / "safety", keys=lab.operator.keys, secret_key=lab.operator.secret_key)
    previous_lab(operator, target)

    run = operator.manage(target.url, "restore", "--force", str(lab.backup))

    assert run.code == 0, run.said
    [safety] = (tmp_path / "safety").glob("*.tar")
    assert f"--force: what the {'PostgreSQL' if on_postgres() else 'SQLite'} database" in run.said
    assert f"held is saved in {safety}." in run.said
    after = operator.snapshot(target.url)
    assert without_restore_events(after) == lab.before
    assert restore_events(after)[0]["fields"]["details"]["forced"] is True
    # Nothing is lost: the saved backup restores what the database held before.
    elsewhere = scratch.create()
    operator.must(elsewhere.url, "restore", str(safety))
    assert usernames(elsewhere) == ["already-here"]


def test_force_with_a_damaged_dump_leaves_the_database_as_it_was(lab, target, tmp_path):
    operator = Operator(backup_dir=tmp_path / "safety", keys=lab.operator.keys, secret_key=lab.operator.secret_key)
    tables = previous_lab(operator, target)
    backup = with_damaged_dump(copy_backup(lab.backup, tmp_path))

    run = operator.manage(target.url, "restore", "--force", str(backup))

    assert run.code == 1
    if on_postgres():
        # Its tables were dropped for the load, which failed and rolled back; then the saved backup was restored.
        [safety] = (tmp_path / "safety").glob("*.tar")
        assert "CommandError: pg_restore failed, and rolled back everything it had loaded" in run.said
        assert f"The database was put back as it was before, from {safety}." in run.said
    else:
        assert "CommandError: The database copy in the backup is damaged:" in run.said
        assert UNTOUCHED in run.said
    assert target.tables() == tables
    assert usernames(target) == ["already-here"]
