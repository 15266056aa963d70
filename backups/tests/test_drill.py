"""The drill: a lab backed up with `manage.py backup`, its database dropped and recreated, the backup restored with
`manage.py restore`, and every row and every decrypted secret equal to before. Real commands in subprocesses, on
PostgreSQL in the PostgreSQL pass of `make test` and on SQLite in its SQLite pass."""

import hashlib
import json
import re
import subprocess
import tarfile

import pytest
from django.db.migrations.loader import MigrationLoader

from backups.tests.drill import Operator, on_postgres
from backups.tests.labdata import PASSWORDS


def restore_events(snapshot):
    return [
        row
        for row in snapshot["rows"]
        if row["model"] == "audit.auditevent" and row["fields"]["action"] == "ops.restore"
    ]


def without_restore_events(snapshot):
    events = restore_events(snapshot)
    return {**snapshot, "rows": [row for row in snapshot["rows"] if row not in events]}


def secret_count(snapshot):
    return sum(value is not None for pair in snapshot["secrets"].values() for value in pair)


def stored_details(database, action):
    """The details of the first audit event of `action` in `database`, as stored."""
    [(details,)] = database.query(f"SELECT details FROM audit_auditevent WHERE action = '{action}' ORDER BY id LIMIT 1")  # noqa: S608
    return details if isinstance(details, dict) else json.loads(details)


def drill(lab):
    rows_before = len(lab.before["rows"])
    backed_up = stored_details(lab.source, "ops.backup")

    lab.source.recreate()
    assert lab.source.tables() == []
    run = lab.operator.manage(lab.source.url, "restore", str(lab.backup))
    after = lab.operator.snapshot(lab.source.url)

    assert run.code == 0, run.said
    assert without_restore_events(after) == lab.before
    assert after["secrets"] == lab.before["secrets"]
    assert secret_count(lab.before) == 7
    assert re.search(r"Restore complete and verified: \d+ rows, 7 of 7 secrets readable\.", run.said)
    [event] = restore_events(after)
    assert event["fields"]["details"] == {
        "rows": backed_up["rows"],
        "models": backed_up["models"],
        "secrets": 7,
        "secrets_unreadable": 0,
        "migrations_applied": 0,
        "forced": False,
        "completed": True,
    }
    assert backed_up == {**backed_up, "secrets": 7, "completed": True, "pruned": 0}
    assert rows_before > 0


@pytest.mark.skipif(not on_postgres(), reason="the PostgreSQL drill runs in the PostgreSQL pass of make test")
def test_postgres_drill_gives_back_every_row_and_secret_after_the_database_is_dropped(lab):
    drill(lab)


@pytest.mark.skipif(on_postgres(), reason="the SQLite drill runs in the SQLite pass of make test")
def test_sqlite_drill_gives_back_every_row_and_secret_after_the_database_file_is_deleted(lab):
    drill(lab)


def readable_dump(lab, tmp_path) -> bytes:
    """The database dump inside the backup, decompressed: pg_dump's custom format compresses table data, so
    pg_restore turns it back into SQL; SQLite's copy is stored as it is."""
    with tarfile.open(lab.backup) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        dump = tar.extractfile(manifest["dump"]).read()
    if not on_postgres():
        return dump
    (tmp_path / "dump").write_bytes(dump)
    return subprocess.run(["pg_restore", "--file=-", str(tmp_path / "dump")], capture_output=True, check=True).stdout


def test_backup_holds_the_stored_ciphertexts_and_never_a_plaintext_secret_a_key_or_a_session(lab, tmp_path):
    dump = readable_dump(lab, tmp_path)
    whole_file = lab.backup.read_bytes()
    vms = [row["fields"] for row in lab.before["rows"] if row["model"] == "machines.virtualmachine"]
    tokens = [vm[name] for vm in vms for name in ("password", "ssh_key") if vm[name]]
    ssh_key_lines = [
        line
        for _password, key in lab.before["secrets"].values()
        if key
        for line in key.splitlines()
        if "---" not in line
    ]

    assert len(tokens) == 7
    for token in tokens:
        assert token.encode() in dump
    for plaintext in [*PASSWORDS, *ssh_key_lines]:
        assert plaintext.encode() not in dump
        assert plaintext.encode() not in whole_file
    for key in [lab.operator.keys, lab.operator.secret_key]:
        assert key.encode() not in dump
        assert key.encode() not in whole_file
        for path in lab.operator.backup_dir.iterdir():
            assert key.encode() not in path.read_bytes()
    assert len(lab.session_keys) == 1
    assert lab.session_keys[0].encode() not in dump


def test_backup_is_one_private_file_named_with_its_date_and_schema_with_its_sha256_beside_it(lab):
    leaves = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes()
    schema = "-".join(f"{app}{name.split('_')[0]}" for app, name in sorted(leaves))
    checksum = lab.backup.with_name(lab.backup.name + ".sha256")

    assert re.fullmatch(rf"vmlab_\d{{4}}-\d\d-\d\dT\d{{6}}\.\d{{3}}Z_{schema}\.tar", lab.backup.name)
    assert checksum.read_text() == f"{hashlib.sha256(lab.backup.read_bytes()).hexdigest()}  {lab.backup.name}\n"
    assert lab.backup.stat().st_mode & 0o777 == 0o600
    assert checksum.stat().st_mode & 0o777 == 0o600
    verified = subprocess.run(["sha256sum", "--check", "--strict", checksum.name], cwd=lab.backup.parent, check=False)
    assert verified.returncode == 0


def test_keep_n_deletes_all_but_the_n_newest_backups_and_nothing_else(lab, tmp_path):
    operator = Operator(backup_dir=tmp_path, keys=lab.operator.keys, secret_key=lab.operator.secret_key)
    (tmp_path / "notes.txt").write_text("not a backup")
    oldest = operator.backup(lab.source.url)
    middle = operator.backup(lab.source.url)

    run = operator.must(lab.source.url, "backup", "--keep", "2")

    newest = next(path for path in tmp_path.glob("*.tar") if path not in (oldest, middle))
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [middle.name, f"{middle.name}.sha256", newest.name, f"{newest.name}.sha256", "notes.txt"]
    )
    assert f"Deleted an older backup (--keep 2): {oldest.name}" in run.said
