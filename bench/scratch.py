"""What the benchmarks share: a throwaway database with fresh keys, Django set up on it, and small timing helpers.

`bench_environment()` creates the database (PostgreSQL at $BENCH_POSTGRES_URL, else SQLite in the work
directory) and returns the environment that this process and any server or child process it starts use;
`drop_database()` removes it again.
"""

import logging
import os
import re
import secrets
import socket
import statistics
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# The host every Client request names: the only one ALLOWED_HOSTS lets through.
HOST = "127.0.0.1"
# The floor of a page's cost: the same logged-in client's 404, which runs every middleware, the session and user
# lookups and a template (404.html on base.html), but no view.
FLOOR_PATH = "/bench-floor-no-such-page/"


def _maintenance_connection():
    import psycopg2

    connection = psycopg2.connect(os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL), connect_timeout=5)
    connection.autocommit = True  # CREATE and DROP DATABASE cannot run inside a transaction
    return connection


def _drop_if_exists(cursor, database: str) -> None:
    from psycopg2 import sql

    cursor.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        [database],
    )
    cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))


def bench_environment(workdir: Path, *, database: str) -> dict[str, str]:
    """A fresh database named `database` (plus $BENCH_DATABASE_SUFFIX, so that two people sharing a server do not
    drop each other's) and fresh keys; os.environ is updated, the whole environment returned."""
    database += os.environ.get("BENCH_DATABASE_SUFFIX", "")
    import psycopg2
    from cryptography.fernet import Fernet

    try:
        database_url = empty_database(database)
    except psycopg2.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"PostgreSQL unreachable ({reason}): falling back to SQLite at {workdir / 'bench.sqlite3'}")
        database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    env = {
        "DJANGO_SETTINGS_MODULE": "vmlab.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DEBUG": "false",
        "ALLOWED_HOSTS": HOST,
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "LOG_LEVEL": "WARNING",
        # Whatever a developer's .env says: one process, and the client's address is the connection's.
        "CACHE_URL": "locmemcache://",
        "TRUSTED_PROXY_COUNT": "0",
        # The pages are measured, not the second factor: a manager's session reaches them without one.
        "TWO_FACTOR_REQUIRED_ROLE": "disabled",
    }
    os.environ.update(env)
    return {**os.environ, **env}


def empty_database(database: str) -> str:
    """A new, empty PostgreSQL database named `database` on the benchmarks' server, replacing one of that name; its URL.

    bench_environment() makes its database with it; a benchmark that needs more makes them too, and drops each with
    drop_database({"DATABASE_URL": url})."""
    from psycopg2 import sql

    connection = _maintenance_connection()
    with connection.cursor() as cursor:
        _drop_if_exists(cursor, database)
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    connection.close()
    server = urlsplit(os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    return urlunsplit((server.scheme, server.netloc, f"/{database}", server.query, ""))


def drop_database(env: dict) -> None:
    """Drop the PostgreSQL database of `env` (closing this process's connections first); nothing for SQLite."""
    url = urlsplit(env["DATABASE_URL"])
    if not url.scheme.startswith("postgres"):
        return
    from django.apps import apps

    if apps.ready:
        from django.db import connections

        connections.close_all()
    connection = _maintenance_connection()
    with connection.cursor() as cursor:
        _drop_if_exists(cursor, url.path.lstrip("/"))
    connection.close()


def setup_django() -> None:
    """django.setup() on the environment of bench_environment(), migrated, with static files served unhashed."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import django.test.signals  # its receivers reset the storages below when told
    from django.conf import settings
    from django.core.management import call_command
    from django.core.signals import setting_changed

    # In-process pages need {% static %} to resolve without collectstatic; static files are not measured.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    setting_changed.send(sender=type(settings), setting="STORAGES", value=settings.STORAGES, enter=True)
    # The floor's 404s would each log a warning: they are meant.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    # whitenoise warns that STATIC_ROOT does not exist on a clone where collectstatic never ran: expected here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    call_command("migrate", verbosity=0, interactive=False)


def logged_in_client(user):
    """A django.test.Client with a database session for `user`, speaking to the allowed host."""
    from django.test import Client

    client = Client(SERVER_NAME=HOST)
    client.force_login(user, backend="accounts.backends.LoginBackend")
    return client


def time_call(function: Callable[[], object]) -> float:
    """Seconds one call of `function` takes."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def median_ms(timings: list[float]) -> float:
    """The median of timings in seconds, in milliseconds."""
    return statistics.median(timings) * 1000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, for a server a benchmark starts."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def goal(met: bool) -> str:
    return "goal met" if met else "goal MISSED"


def captured_statements(client, path: str, *, status: int = 200) -> list[str]:
    """The SQL statements one GET of `path` runs, as sent to the database."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != status:
        raise SystemExit(f'GET "{path}" answered {response.status_code}, not {status}')
    return [query["sql"] for query in captured.captured_queries]


def own_statements(page: list[str], floor: list[str]) -> list[str]:
    """The page's statements less those the floor runs too (the session and the user): the page's own SQL."""
    shared = Counter(_shape(sql) for sql in floor)
    own = []
    for sql in page:
        if shared[_shape(sql)]:
            shared[_shape(sql)] -= 1
        else:
            own.append(sql)
    return own


def _shape(sql: str) -> str:
    """A statement without its literals: the session lookup names the current time."""
    return re.sub(r"'[^']*'", "?", sql)


def replay(statements: list[str]) -> None:
    """Run `statements` in order on a raw cursor, fetching every row: what the page's SQL costs alone."""
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            if cursor.description is not None:
                cursor.fetchall()


def statement_kinds(statements: list[str]) -> str:
    kinds = Counter(sql.split(None, 1)[0].upper() for sql in statements)
    return ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))


@dataclass
class PageTimes:
    """Medians of one page's warm runs, in milliseconds, and the SQL it runs of its own."""

    floor: float
    page: float
    sql: float
    statements: list[str]

    @property
    def ratio(self) -> float:
        """What the page costs beyond the framework's floor, per unit of its own SQL."""
        return (self.page - self.floor) / self.sql


def time_page(client, path: str, *, runs: int, warmup: int = 5) -> PageTimes:
    """The floor (404), the page and its own SQL on a raw cursor, alternating so that drift touches all three."""
    floor_statements = captured_statements(client, FLOOR_PATH, status=404)
    statements = own_statements(captured_statements(client, path), floor_statements)
    for _ in range(warmup):
        client.get(FLOOR_PATH)
        client.get(path)
        replay(statements)
    floor, page, sql = [], [], []
    for _ in range(runs):
        floor.append(time_call(lambda: client.get(FLOOR_PATH)))
        page.append(time_call(lambda: client.get(path)))
        sql.append(time_call(lambda: replay(statements)))
    return PageTimes(median_ms(floor), median_ms(page), median_ms(sql), statements)
