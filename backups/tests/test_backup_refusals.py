"""Refusals of `manage.py backup` that come before any dump, and what a failed run leaves in the audit trail."""

import getpass

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import Action, AuditEvent
from backups import services
from backups.archive import BackupError
from backups.tasks import scheduled_backup
from backups.tests.drill import on_postgres


@pytest.fixture
def project(settings, tmp_path):
    """A project directory with its .env (as `make run` writes it), and BACKUP_DIR inside it."""
    settings.BASE_DIR = tmp_path / "project"
    settings.BASE_DIR.mkdir()
    (settings.BASE_DIR / ".env").write_text("FIELD_ENCRYPTION_KEYS=...\nSECRET_KEY=...\n")
    settings.BACKUP_DIR = settings.BASE_DIR / "var" / "backups"
    return settings.BASE_DIR


@pytest.mark.parametrize("where", ["project", "parent"])
def test_backup_dir_that_holds_the_key_file_is_refused(settings, project, where):
    settings.BACKUP_DIR = project if where == "project" else project.parent

    with pytest.raises(CommandError) as raised:
        call_command("backup")

    assert str(raised.value) == (
        f"BACKUP_DIR ({settings.BACKUP_DIR}) holds {project / '.env'}, which holds FIELD_ENCRYPTION_KEYS and "
        "SECRET_KEY: a backup must never sit beside its keys. Set BACKUP_DIR to a directory of its own."
    )
    assert sorted(path.name for path in project.iterdir()) == [".env"]


@pytest.mark.parametrize("keep", ["0", "-2"])
def test_keep_below_one_is_refused_before_anything_is_written(settings, project, keep):
    with pytest.raises(CommandError, match=r"^--keep must be at least 1: the backup just made is always kept\.$"):
        call_command("backup", "--keep", keep)

    assert not settings.BACKUP_DIR.exists()


class FailingDatabase:
    engine, dump_name = "postgresql", "database.pgdump"

    def dump(self, path):
        path.write_bytes(b"half a dump")
        raise BackupError("pg_dump failed: connection to server lost")


@pytest.mark.django_db
def test_a_failed_backup_leaves_no_file_and_is_recorded_with_its_error_class(settings, project, monkeypatch):
    monkeypatch.setattr(services, "database_for", lambda alias: FailingDatabase())

    with pytest.raises(CommandError, match=r"^pg_dump failed: connection to server lost$"):
        call_command("backup")

    assert list(settings.BACKUP_DIR.iterdir()) == []
    [event] = AuditEvent.objects.filter(action=Action.BACKUP)
    assert event.actor_label == f"{getpass.getuser()} (manage.py)"
    assert event.details == {"completed": False, "error": "BackupError"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not on_postgres(), reason="the SQLite pass's database is in memory: no file to back up")
def test_the_scheduled_backup_writes_a_file_and_keeps_the_newest_backup_keep(settings, project):
    settings.BACKUP_KEEP = 1
    first = scheduled_backup()
    second = scheduled_backup()

    names = sorted(path.name for path in settings.BACKUP_DIR.iterdir())
    assert first != second
    assert names == [second, f"{second}.sha256"]
    assert AuditEvent.objects.filter(action=Action.BACKUP).count() == 2


def test_a_postgresql_backup_through_pgbouncer_is_refused_before_any_dump(settings, project):
    from backups.databases import PostgresDatabase

    settings.DATABASE_POOLING = "pgbouncer"

    with pytest.raises(BackupError, match="goes through PgBouncer"):
        PostgresDatabase("default").dump(settings.BACKUP_DIR / "never.pgdump")

    assert not settings.BACKUP_DIR.exists()
