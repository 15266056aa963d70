import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from backups.tests.drill import Operator, PostgresScratch, SqliteScratch, on_postgres


def unavailable(reason: str):
    """Skip a drill that cannot run here, except under CI, where it must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the backup drills must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def scratch(tmp_path_factory):
    """Throwaway databases of the kind this pass of `make test` runs on, dropped at the end."""
    if not on_postgres():
        yield SqliteScratch(tmp_path_factory.mktemp("drill-databases"))
        return
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        unavailable(f"{' and '.join(missing)} not installed (Debian: apt-get install postgresql-client)")
    import psycopg2

    server = PostgresScratch()
    try:
        server._connect().close()
    except psycopg2.OperationalError as error:
        unavailable(f"PostgreSQL at {server.server['host']}:{server.server['port']} is not answering: {error}")
    yield server
    server.drop_all()


@dataclass
class Lab:
    """A populated source database, its backup, and a snapshot of every row and secret taken just before it."""

    operator: Operator
    source: object
    backup: Path
    before: dict
    session_keys: list


def make_lab(scratch, backup_dir: Path) -> Lab:
    operator = Operator(backup_dir=backup_dir)
    source = scratch.create()
    operator.populate(source.url)
    before = operator.snapshot(source.url)
    session_keys = [key for (key,) in source.query("SELECT session_key FROM django_session")]
    backup = operator.backup(source.url)
    return Lab(operator=operator, source=source, backup=backup, before=before, session_keys=session_keys)


@pytest.fixture(scope="session")
def lab(scratch, tmp_path_factory):
    return make_lab(scratch, tmp_path_factory.mktemp("backups"))


@pytest.fixture(scope="session")
def schema_labs(scratch, tmp_path_factory):
    """(older, newer): backups of a lab whose schema is older than this code (audit one migration back, as before
    these backup actions, and connect's live status not there yet: migrations that hold none of the lab's rows, so
    that going back loses nothing), and of the same lab once it also records a migration that this code does not
    have, as a database of a later VM Lab would."""
    operator = Operator(backup_dir=tmp_path_factory.mktemp("schema-backups"))
    source = scratch.create()
    operator.populate(source.url)
    # Taken first: this code's models cannot read the older tables.
    before = operator.snapshot(source.url)
    operator.shell(
        source.url,
        "from django.core.management import call_command; "
        "call_command('migrate', 'connect', 'zero', verbosity=0); "
        "call_command('migrate', 'audit', '0007', verbosity=0)",
    )
    older = Lab(operator=operator, source=source, backup=operator.backup(source.url), before=before, session_keys=[])
    operator.shell(
        source.url,
        "from django.db import connection; from django.utils import timezone; "
        "connection.cursor().execute('INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)', "
        "['machines', '0099_from_the_future', timezone.now()])",
    )
    newer = Lab(operator=operator, source=source, backup=operator.backup(source.url), before=before, session_keys=[])
    return older, newer


@pytest.fixture
def target(scratch):
    """A new, empty database (for SQLite: a file that does not exist yet)."""
    return scratch.create()


def copy_backup(backup: Path, directory: Path) -> Path:
    """A copy of the backup and its checksum file, for a test to damage."""
    copy = directory / backup.name
    shutil.copy(backup, copy)
    shutil.copy(backup.with_name(backup.name + ".sha256"), directory)
    return copy
