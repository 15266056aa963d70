"""Dumping and loading each kind of database, through django-dbbackup's connectors.

PostgreSQL: pg_dump's custom format (PgDumpBinaryConnector), taken from a snapshot exported by a read-only
transaction that also counts the rows, so the counts are those of the dump even while the lab is in use; loaded by
pg_restore in one transaction (--single-transaction), so a load that fails leaves nothing behind.

SQLite: a copy made with SQLite's online backup API (SqliteBackupConnector), consistent while the site runs; loaded
by checking the copy, then renaming it over the database file, so the file is either the old one or the whole
new one.

Session rows are left out of every dump: they are sign-in tokens, which a backup that travels must not carry.
Everyone signs in again after a restore.
"""

import contextlib
import logging
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dbbackup.db.exceptions import CommandConnectorError
from dbbackup.db.postgresql import PgDumpBinaryConnector
from dbbackup.db.sqlite import SqliteBackupConnector
from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.db import connections, transaction
from django.utils.translation import gettext as _

from backups.archive import BackupError
from machines.rotation import encrypted_fields_by_model

EXCLUDED_TABLES = ("django_session",)

# django-dbbackup sets this logger to DEBUG when imported and logs every command line through it.
logging.getLogger("dbbackup.command").setLevel(logging.WARNING)


@dataclass
class Contents:
    """What a dump holds, counted in the dump's own snapshot."""

    migrations: dict
    tables: list
    secrets: dict


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def backed_up_models():
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and model._meta.db_table not in EXCLUDED_TABLES
    ]


def _contents(cursor, tables: set, columns_of) -> Contents:
    """Migrations, rows per model and stored secrets per model, read with a DB-API cursor on the dumped data."""
    migrations = {}
    if "django_migrations" in tables:
        cursor.execute("SELECT app, name FROM django_migrations")
        for app, name in cursor.fetchall():
            migrations.setdefault(app, []).append(name)
    counted = []
    for model in backed_up_models():
        if model._meta.db_table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {_quote(model._meta.db_table)}")  # noqa: S608 (quoted name)
            counted.append({"model": model._meta.label, "table": model._meta.db_table, "rows": cursor.fetchone()[0]})
    secrets = {}
    for model, names in encrypted_fields_by_model().items():
        table = model._meta.db_table
        present = columns_of(table) if table in tables else set()
        stored = [model._meta.get_field(name).column for name in names if model._meta.get_field(name).column in present]
        if stored:
            counts = ", ".join(f"COUNT({_quote(column)})" for column in stored)
            cursor.execute(f"SELECT {counts} FROM {_quote(table)}")  # noqa: S608 (quoted names)
            secrets[model._meta.label] = sum(cursor.fetchone())
    return Contents(
        migrations={app: sorted(names) for app, names in sorted(migrations.items())}, tables=counted, secrets=secrets
    )


def _tool_error(error: Exception) -> str:
    """The useful part of a failed pg_dump / pg_restore run as django-dbbackup reports it: the tool's own words."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    said = [line for line in lines if not line.startswith("Error running:")]
    return " ".join(said) or (lines[0] if lines else type(error).__name__)


class Database:
    engine = ""
    dump_name = ""
    #: True when a load replaces the old contents in one step, so nothing must be emptied first.
    replaces_in_one_step = False

    def __init__(self, alias: str):
        self.alias = alias
        self.connection = connections[alias]
        self.settings = self.connection.settings_dict

    def count_rows(self, tables: list[str]) -> dict:
        existing = set(self.connection.introspection.table_names())
        found = {}
        with self.connection.cursor() as cursor:
            for table in tables:
                if table in existing:
                    cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608 (quoted name)
                    found[table] = cursor.fetchone()[0]
        return found


class PostgresDatabase(Database):
    engine = "postgresql"
    dump_name = "database.pgdump"

    def describe(self) -> str:
        where = f"{self.settings.get('HOST') or 'localhost'}:{self.settings.get('PORT') or 5432}"
        return _("PostgreSQL database %(name)s on %(where)s") % {"name": self.settings["NAME"], "where": where}

    def _connector(self, **options):
        if shutil.which(PgDumpBinaryConnector.dump_cmd) is None:
            raise BackupError(
                _(
                    "pg_dump and pg_restore are not installed: install PostgreSQL's client tools "
                    "(Debian: apt-get install postgresql-client), of the server's major version or newer."
                )
            )
        return PgDumpBinaryConnector(self.alias, **options)

    def dump(self, path: Path) -> Contents:
        if settings.DATABASE_POOLING == "pgbouncer":
            # pg_dump joins this connection's snapshot, which PgBouncer's transaction mode does not keep.
            raise BackupError(
                _(
                    "DATABASE_URL goes through PgBouncer (DATABASE_POOLING=pgbouncer): back up where it names "
                    "PostgreSQL itself, e.g. in the task queue's worker."
                )
            )
        with transaction.atomic(using=self.alias), self.connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            tables = set(self.connection.introspection.table_names(cursor))
            if not tables:
                raise BackupError(
                    _("The %(database)s has no tables: there is nothing to back up.") % {"database": self.describe()}
                )
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            contents = _contents(cursor, tables, lambda table: self._columns(cursor, table))
            # pg_dump reads the snapshot this transaction exported, so it dumps exactly the rows counted above.
            connector = self._connector(exclude=list(EXCLUDED_TABLES), dump_suffix=f"--snapshot={snapshot}")
            try:
                output = connector.create_dump()
            except CommandConnectorError as error:
                raise BackupError(_("pg_dump failed: %(error)s") % {"error": _tool_error(error)}) from None
        with output, open(path, "wb") as handle:
            shutil.copyfileobj(output, handle, length=1024 * 1024)
        return contents

    def _columns(self, cursor, table: str) -> set:
        return {column.name for column in self.connection.introspection.get_table_description(cursor, table)}

    def staging_directory(self) -> Path | None:
        """Where a restore puts the extracted dump: the system's temporary directory."""
        return None

    def check(self, dump: Path) -> None:
        """pg_restore reads the archive's table of contents: a damaged header or an archive from a newer pg_dump
        fails here, before the database is touched. Damage further in fails the load, which then rolls back."""
        self._connector()
        listed = subprocess.run(  # noqa: S603 (a fixed tool and our own file)
            [PgDumpBinaryConnector.restore_cmd, "--list", str(dump)], capture_output=True, text=True, check=False
        )
        if listed.returncode != 0:
            message = _("The database dump in the backup is damaged: %(error)s")
            raise BackupError(message % {"error": listed.stderr.strip()})

    def tables(self) -> list[str]:
        return self.connection.introspection.table_names()

    def load(self, dump: Path, *, replace: bool) -> None:
        if replace:
            self._drop_every_table()
        self.connection.close()
        # Objects belong to whoever restores: the new server's user need not be the one that made the backup.
        connector = self._connector(
            single_transaction=True, drop=False, if_exists=False, pg_options="--no-owner --no-privileges"
        )
        try:
            with open(dump, "rb") as handle:
                connector.restore_dump(File(handle))
        except CommandConnectorError as error:
            raise BackupError(
                _("pg_restore failed, and rolled back everything it had loaded: %(error)s")
                % {"error": _tool_error(error)}
            ) from None

    def _drop_every_table(self) -> None:
        with transaction.atomic(using=self.alias), self.connection.cursor() as cursor:
            tables = self.connection.introspection.table_names(cursor)
            if tables:
                cursor.execute(f"DROP TABLE {', '.join(_quote(table) for table in tables)} CASCADE")


class SqliteDatabase(Database):
    engine = "sqlite"
    dump_name = "database.sqlite3"
    replaces_in_one_step = True

    def __init__(self, alias: str):
        super().__init__(alias)
        name = str(self.settings["NAME"])
        if name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
            raise BackupError(
                _("DATABASE_URL names an in-memory SQLite database: there is no file to back up or restore.")
            )
        self.path = Path(name)

    def describe(self) -> str:
        return _("SQLite database %(path)s") % {"path": self.path}

    def dump(self, path: Path) -> Contents:
        if not self.tables():
            raise BackupError(
                _("The %(database)s has no tables: there is nothing to back up.") % {"database": self.describe()}
            )
        output = SqliteBackupConnector(self.alias).create_dump()
        with output, open(path, "wb") as handle:
            shutil.copyfileobj(output, handle, length=1024 * 1024)
        with contextlib.closing(sqlite3.connect(path)) as copy:
            for table in EXCLUDED_TABLES:
                copy.execute(f"DELETE FROM {_quote(table)}")  # noqa: S608 (a fixed name)
            copy.commit()
            # Rewrites the file, so the deleted rows do not linger in free pages.
            copy.execute("VACUUM")
            return _contents(copy.cursor(), _sqlite_tables(copy), lambda table: _sqlite_columns(copy, table))

    def staging_directory(self) -> Path:
        """Beside the database, so that the checked copy can be renamed over it."""
        if not self.path.parent.is_dir():
            message = _("%(directory)s does not exist: create the directory of %(path)s first.")
            raise BackupError(message % {"directory": self.path.parent, "path": self.path})
        return self.path.parent

    def check(self, dump: Path) -> None:
        try:
            with contextlib.closing(sqlite3.connect(f"{dump.resolve().as_uri()}?mode=ro", uri=True)) as copy:
                problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as error:
            raise BackupError(_("The database copy in the backup is damaged: %(error)s.") % {"error": error}) from None
        if problems != ["ok"]:
            message = _("The database copy in the backup is damaged: %(error)s.")
            raise BackupError(message % {"error": "; ".join(problems[:3])})

    def tables(self) -> list[str]:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return []
        with contextlib.closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)) as database:
            return sorted(_sqlite_tables(database))

    def load(self, dump: Path, *, replace: bool) -> None:
        self.connection.close()
        for suffix in ("-journal", "-wal"):
            if self.path.with_name(self.path.name + suffix).exists():
                message = _("%(name)s exists: another process is writing to %(path)s. Stop VM Lab first.")
                raise BackupError(message % {"name": self.path.name + suffix, "path": self.path})
        os.replace(dump, self.path)


def _sqlite_tables(database) -> set:
    rows = database.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return {name for (name,) in rows}


def _sqlite_columns(database, table: str) -> set:
    return {row[1] for row in database.execute(f"PRAGMA table_info({_quote(table)})")}


def database_for(alias: str) -> Database:
    vendor = connections[alias].vendor
    if vendor == "postgresql":
        return PostgresDatabase(alias)
    if vendor == "sqlite":
        return SqliteDatabase(alias)
    raise BackupError(
        _("Backups work with PostgreSQL and SQLite; DATABASE_URL names a %(vendor)s database.") % {"vendor": vendor}
    )
