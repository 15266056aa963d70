"""Backing up the database into BACKUP_DIR and restoring a backup into an empty database, with a verification.

A backup holds the database as it is stored: secrets stay the Fernet tokens they are in the tables, and no key is
ever written into BACKUP_DIR. A restore checks everything it can before it touches the database (the SHA-256, the
archive, the kind of database, the schema, the dump itself, an empty target), loads in one step that either
completes or leaves nothing behind, migrates an older backup forward, then counts the rows per model against the
backup's own counts and reads every secret with the configured keys in a dry pass that writes nothing.
"""

import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit.models import Action
from audit.services import audit_record, command_operator
from backups import archive
from backups.archive import BackupError, Manifest
from backups.databases import EXCLUDED_TABLES, Database, database_for
from machines.rotation import KeyCensus, dry_pass, key_fingerprint, secret_totals
from vmlab.core.rows import first_of

# Files that hold FIELD_ENCRYPTION_KEYS and SECRET_KEY in a checkout (`make run`'s and compose's).
KEY_FILES = (".env", "prod.env")


def _ignore(_line: str) -> None:
    pass


@dataclass
class BackupResult:
    path: Path
    manifest: Manifest
    size: int
    pruned: list = field(default_factory=list)


@dataclass
class RestoreResult:
    manifest: Manifest
    rows: dict  # {model label: rows found after the load}
    migrated: list  # "app.name" of each migration applied after the load
    censuses: list[KeyCensus]
    safety_backup: Path | None = None

    @property
    def secrets(self) -> int:
        return secret_totals(self.censuses)[0]

    @property
    def unreadable_secrets(self) -> int:
        return secret_totals(self.censuses)[1]


def backup_directory() -> Path:
    """BACKUP_DIR, created private if missing; refused if it holds the project's key files."""
    directory = Path(settings.BACKUP_DIR).resolve()
    for name in KEY_FILES:
        key_file = Path(settings.BASE_DIR, name).resolve()
        if key_file.exists() and key_file.is_relative_to(directory):
            message = _(
                "BACKUP_DIR (%(directory)s) holds %(key_file)s, which holds FIELD_ENCRYPTION_KEYS and SECRET_KEY: "
                "a backup must never sit beside its keys. Set BACKUP_DIR to a directory of its own."
            )
            raise BackupError(message % {"directory": directory, "key_file": key_file})
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


@contextmanager
def _audited(action: Action, details: dict, enabled: bool = True):
    """One audit event for the run, counts only, also when it stops on an error (as key rotation does)."""
    try:
        yield details
    except BaseException as error:
        if enabled:
            try:
                audit_record(
                    action=action,
                    operator=command_operator(),
                    details={**details, "completed": False, "error": type(error).__name__},
                )
            except Exception as audit_error:  # the database may be what failed: keep the original error first
                note = _("The audit event for this run could not be written: %(error)s.")
                error.add_note(note % {"error": type(audit_error).__name__})
        raise
    if enabled:
        audit_record(action=action, operator=command_operator(), details={**details, "completed": True})


def backup_create(*, keep: int | None = None, audit: bool = True, alias: str = DEFAULT_DB_ALIAS) -> BackupResult:
    """Dump the database into a new backup file in BACKUP_DIR; with `keep`, delete all but the `keep` newest."""
    if keep is not None and keep < 1:
        raise BackupError(_("--keep must be at least 1: the backup just made is always kept."))
    directory = backup_directory()
    database = database_for(alias)
    with _audited(Action.BACKUP, {}, enabled=audit) as details:
        created_at = archive.now_utc().isoformat()
        with tempfile.TemporaryDirectory(dir=directory, prefix=".vmlab-backup-") as work:
            dump = Path(work, database.dump_name)
            contents = database.dump(dump)
            manifest = Manifest(
                engine=database.engine,
                dump=database.dump_name,
                created_at=created_at,
                migrations=contents.migrations,
                tables=contents.tables,
                secrets=contents.secrets,
                keys=[key_fingerprint(key) for key in settings.FIELD_ENCRYPTION_KEYS],
                excluded=list(EXCLUDED_TABLES),
            )
            path = archive.write(directory, manifest, dump)
        pruned = archive.prune(directory, keep) if keep else []
        size = path.stat().st_size
        details.update(
            rows=manifest.rows,
            models=len(manifest.tables),
            secrets=manifest.secret_count,
            bytes=size,
            pruned=len(pruned),
        )
    return BackupResult(path=path, manifest=manifest, size=size, pruned=pruned)


def backup_restore(
    *, path: Path, force: bool = False, alias: str = DEFAULT_DB_ALIAS, log: Callable[[str], None] = _ignore
) -> RestoreResult:
    """Restore the backup at `path` into the (empty) database, migrate it forward and verify it.

    Everything that can be checked without the database is checked first; a failure there changes nothing. With
    `force`, a database that is not empty is backed up, then replaced; if the load fails it is put back.
    """
    with _refusals_change_nothing():
        database = database_for(alias)
        staging = database.staging_directory()
    with tempfile.TemporaryDirectory(dir=staging, prefix=".vmlab-restore-") as work_name:
        work = Path(work_name)
        with _refusals_change_nothing():
            archive.verify_checksum(path)
            log(_("%(name)s: its SHA-256 matches the .sha256 file beside it.") % {"name": path.name})
            with archive.open_backup(path) as backup:
                manifest = backup.manifest
                _check_compatible(manifest, database)
                dump = work / database.dump_name
                backup.extract_dump(dump)
            database.check(dump)
            log(
                _("Backup of %(created)s: %(rows)d rows, %(secrets)d secrets; schema %(schema)s.")
                % {
                    "created": manifest.created(),
                    "rows": manifest.rows,
                    "secrets": manifest.secret_count,
                    "schema": manifest.describe_schema(),
                }
            )
            existing = database.tables()
            if existing and not force:
                shown = first_of(existing, 3)
                message = ngettext(
                    "The %(database)s is not empty: it has %(count)d tables (%(shown)s). Restore into an "
                    "empty database, or add --force to replace this one (it is backed up first).",
                    "The %(database)s is not empty: it has %(count)d tables (%(shown)s). Restore into an "
                    "empty database, or add --force to replace this one (it is backed up first).",
                    len(existing),
                )
                raise BackupError(message % {"database": database.describe(), "count": len(existing), "shown": shown})
        safety = None
        if existing:
            safety = backup_create(audit=False, alias=alias).path
            log(
                _("--force: what the %(database)s held is saved in %(safety)s.")
                % {
                    "database": database.describe(),
                    "safety": safety,
                }
            )
        _load(database, dump, replace=bool(existing), safety=safety)
    log(_("Loaded into the %(database)s.") % {"database": database.describe()})
    return _verify(database, manifest, safety)


@contextmanager
def _refusals_change_nothing():
    try:
        yield
    except BackupError as error:
        raise BackupError(
            _("%(error)s Nothing was restored: the database was not touched.") % {"error": error}
        ) from None


def _check_compatible(manifest: Manifest, database: Database) -> None:
    if manifest.engine != database.engine:
        message = _(
            "This backup is of a %(backup_engine)s database, and DATABASE_URL names a %(engine)s one: "
            "restore it into the same kind of database."
        )
        raise BackupError(message % {"backup_engine": manifest.engine, "engine": database.engine})
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = sorted(f"{app}.{name}" for app, name in manifest.applied - known)
    if unknown:
        message = ngettext(
            "This backup's schema is newer than this code: it has %(count)d migration(s) this code does not "
            "have (%(names)s). Restore it with the VM Lab version that made it, or a newer one.",
            "This backup's schema is newer than this code: it has %(count)d migration(s) this code does not "
            "have (%(names)s). Restore it with the VM Lab version that made it, or a newer one.",
            len(unknown),
        )
        names = first_of(unknown, 5)
        raise BackupError(message % {"count": len(unknown), "names": names})


def _load(database: Database, dump: Path, *, replace: bool, safety: Path | None) -> None:
    try:
        database.load(dump, replace=replace)
    except BackupError as error:
        if safety is None or database.replaces_in_one_step:
            raise
        try:
            _put_back(database, safety)
        except BackupError as second:
            message = _(
                "%(error)s Putting the old contents back failed too (%(second)s): the database is empty. "
                "What it held is in %(safety)s: restore it with `manage.py restore %(safety)s`."
            )
            raise BackupError(message % {"error": error, "second": second, "safety": safety}) from None
        message = _("%(error)s The database was put back as it was before, from %(safety)s.")
        raise BackupError(message % {"error": error, "safety": safety}) from None


def _put_back(database: Database, safety: Path) -> None:
    with tempfile.TemporaryDirectory(prefix=".vmlab-restore-") as work, archive.open_backup(safety) as backup:
        dump = Path(work, database.dump_name)
        backup.extract_dump(dump)
        database.load(dump, replace=False)


def _verify(database: Database, manifest: Manifest, safety: Path | None) -> RestoreResult:
    connections[database.alias].close()
    ContentType.objects.clear_cache()
    found = database.count_rows([table["table"] for table in manifest.tables])
    differing = [
        _("%(model)s: %(found)d of %(rows)d")
        % {"model": table["model"], "found": found.get(table["table"], 0), "rows": table["rows"]}
        for table in manifest.tables
        if found.get(table["table"], 0) != table["rows"]
    ]
    if differing:
        message = _(
            "The restored rows differ from the backup's own counts (%(differing)s). The restored data was "
            "left as it is: check it before using it."
        )
        raise BackupError(message % {"differing": "; ".join(differing)})
    rows = {table["model"]: found[table["table"]] for table in manifest.tables}
    migrated = _migrate_forward(database)
    censuses = dry_pass()
    result = RestoreResult(manifest=manifest, rows=rows, migrated=migrated, censuses=censuses, safety_backup=safety)
    audit_record(
        action=Action.RESTORE,
        operator=command_operator(),
        details={
            "rows": manifest.rows,
            "models": len(rows),
            "secrets": result.secrets,
            "secrets_unreadable": result.unreadable_secrets,
            "migrations_applied": len(migrated),
            "forced": safety is not None,
            "completed": True,
        },
    )
    return result


def _migrate_forward(database: Database) -> list[str]:
    """Apply the migrations this code has and the backup had not; their names, in order."""
    connection = connections[database.alias]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        call_command("migrate", database=database.alias, interactive=False, verbosity=0)
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
