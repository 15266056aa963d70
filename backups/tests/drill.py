"""What the drills run: manage.py in a subprocess, as an operator does, against scratch databases of the kind the
current pass of `make test` uses (PostgreSQL: a throwaway vmlab_drill_<random> database on the test server, dropped
afterwards; SQLite: a file in a temporary directory).

Each subprocess gets its whole configuration from here (DATABASE_URL, FIELD_ENCRYPTION_KEYS, SECRET_KEY, BACKUP_DIR),
independent of the developer's .env.
"""

import contextlib
import json
import os
import secrets
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet
from django.conf import settings

from backups.tests.labdata import MARK


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def new_key() -> str:
    return Fernet.generate_key().decode()


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def said(self) -> str:
        """Both streams, with lines re-joined: what the operator reads, whatever the terminal's width."""
        return " ".join((self.out + "\n" + self.err).split())


@dataclass
class Operator:
    """One operator's configuration: the keys, the secret key and the backup directory their commands run with."""

    backup_dir: Path
    keys: str = field(default_factory=new_key)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))

    def env(self, database_url: str, **changes) -> dict:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DJANGO_SETTINGS_MODULE": "vmlab.settings",
            "DATABASE_URL": database_url,
            "FIELD_ENCRYPTION_KEYS": self.keys,
            "SECRET_KEY": self.secret_key,
            "BACKUP_DIR": str(self.backup_dir),
            "DEBUG": "false",
            "CACHE_URL": "locmemcache://",
            "LOG_LEVEL": "WARNING",
        }
        return {**env, **changes}

    def manage(self, database_url: str, *args, **changes) -> Run:
        completed = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=self.env(database_url, **changes),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        return Run(completed.returncode, completed.stdout, completed.stderr)

    def must(self, database_url: str, *args, **changes) -> Run:
        run = self.manage(database_url, *args, **changes)
        assert run.code == 0, f"manage.py {' '.join(args)} failed:\n{run.out}\n{run.err}"
        return run

    def shell(self, database_url: str, code: str, **changes) -> Run:
        return self.must(database_url, "shell", "--no-imports", "-c", code, **changes)

    def populate(self, database_url: str) -> None:
        self.shell(
            database_url,
            "from django.core.management import call_command; call_command('migrate', verbosity=0); "
            "from backups.tests.labdata import populate; populate()",
        )

    def snapshot(self, database_url: str, **changes) -> dict:
        run = self.shell(database_url, "from backups.tests.labdata import snapshot; snapshot()", **changes)
        line = next(line for line in run.out.splitlines() if line.startswith(MARK))
        return json.loads(line.removeprefix(MARK))

    def backup(self, database_url: str, *args) -> Path:
        run = self.must(database_url, "backup", *args)
        written = next(line for line in run.out.splitlines() if line.startswith("Backup written: "))
        return Path(written.removeprefix("Backup written: ").rsplit(" (", 1)[0])


class PostgresScratch:
    """Throwaway databases on the server of the PostgreSQL pass."""

    engine = "postgresql"

    def __init__(self):
        import psycopg2

        database = settings.DATABASES["default"]
        self.server = {
            "host": database.get("HOST") or "127.0.0.1",
            "port": int(database.get("PORT") or 5432),
            "user": database.get("USER") or None,
            "password": database.get("PASSWORD") or None,
        }
        self._psycopg2 = psycopg2
        self.created = []

    def _connect(self, name="postgres"):
        connection = self._psycopg2.connect(dbname=name, connect_timeout=5, **self.server)
        connection.autocommit = True
        return connection

    def url(self, name: str) -> str:
        credentials = self.server["user"] or ""
        if self.server["password"]:
            credentials += f":{self.server['password']}"
        return f"postgres://{credentials}@{self.server['host']}:{self.server['port']}/{name}"

    def create(self) -> "PostgresDatabase":
        name = f"vmlab_drill_{secrets.token_hex(4)}"
        self.created.append(name)
        database = PostgresDatabase(self, name)
        database.recreate()
        return database

    def drop_all(self) -> None:
        for name in self.created:
            PostgresDatabase(self, name).drop()


@dataclass
class PostgresDatabase:
    scratch: PostgresScratch
    name: str

    @property
    def url(self) -> str:
        return self.scratch.url(self.name)

    def drop(self) -> None:
        with contextlib.closing(self.scratch._connect()) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.name],
            )
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.name}"')

    def recreate(self) -> None:
        self.drop()
        with contextlib.closing(self.scratch._connect()) as connection, connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{self.name}"')

    def query(self, sql: str, params=()) -> list:
        with contextlib.closing(self.scratch._connect(self.name)) as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def tables(self) -> list[str]:
        rows = self.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        return [name for (name,) in rows]


class SqliteScratch:
    """Database files in a temporary directory."""

    engine = "sqlite"

    def __init__(self, directory: Path):
        self.directory = directory

    def create(self) -> "SqliteDatabase":
        return SqliteDatabase(self.directory / f"vmlab_drill_{secrets.token_hex(4)}.sqlite3")

    def drop_all(self) -> None:
        pass


@dataclass
class SqliteDatabase:
    path: Path

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def drop(self) -> None:
        self.path.unlink(missing_ok=True)

    def recreate(self) -> None:
        self.drop()

    def query(self, sql: str, params=()) -> list:
        with contextlib.closing(sqlite3.connect(self.path)) as connection:
            return connection.execute(sql, params).fetchall()

    def tables(self) -> list[str]:
        if not self.path.exists():
            return []
        rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1")
        return [name for (name,) in rows]
