"""scripts/pgbouncer_config.py, the PgBouncer that `make serve-prod` and compose.yaml put in front of PostgreSQL.

The configuration is checked as written; then, in the PostgreSQL pass, Debian's pgbouncer is started with it on a
free loopback port and Django (DATABASE_POOLING=pgbouncer) runs queries through it. Without pgbouncer that last test
is skipped, except under CI, which installs it (.ci/run).
"""

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings

SCRIPT = settings.BASE_DIR / "scripts" / "pgbouncer_config.py"
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def configure(database_url, directory, *options):
    return subprocess.run(
        [sys.executable, str(SCRIPT), database_url, str(directory), *options],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_local_cluster_without_password_gets_transaction_pooling_that_trusts_loopback_clients(tmp_path):
    result = configure("postgres://postgres@127.0.0.1:5432/vmlab", tmp_path, "--listen", "127.0.0.1:6543")

    ini = (tmp_path / "pgbouncer.ini").read_text()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "postgres://postgres@127.0.0.1:6543/vmlab"
    assert "vmlab = host=127.0.0.1 port=5432 dbname=vmlab timezone=UTC" in ini
    for line in ["pool_mode = transaction", "listen_addr = 127.0.0.1", "listen_port = 6543", "auth_type = trust"]:
        assert line in ini.splitlines()
    assert (tmp_path / "userlist.txt").read_text() == '"postgres" ""\n'


def test_a_password_is_required_from_clients_and_kept_in_a_file_only_its_owner_reads(tmp_path):
    url = "postgres://lab:p%40ss%22word@db.internal:5433/vmlab"
    result = configure(url, tmp_path, "--listen", "0.0.0.0:6432", "--client-host", "pgb")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "postgres://lab:p%40ss%22word@pgb:6432/vmlab"
    assert "auth_type = scram-sha-256" in (tmp_path / "pgbouncer.ini").read_text().splitlines()
    assert "vmlab = host=db.internal port=5433 dbname=vmlab timezone=UTC" in (tmp_path / "pgbouncer.ini").read_text()
    assert (tmp_path / "userlist.txt").read_text() == '"lab" "p@ss""word"\n'
    for name in ("userlist.txt", "pgbouncer.ini"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_trusting_clients_on_an_address_other_machines_reach_is_refused(tmp_path):
    result = configure("postgres://postgres@127.0.0.1:5432/vmlab", tmp_path, "--listen", "0.0.0.0:6432")

    assert result.returncode == 1
    assert "without a password" in result.stderr
    assert not (tmp_path / "pgbouncer.ini").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///db.sqlite3", "sqlite:// is not a PostgreSQL URL"),
        ("postgres://127.0.0.1:5432/vmlab", "must name a user and a database"),
        ("postgres://postgres@127.0.0.1:5432/", "must name a user and a database"),
    ],
)
def test_a_url_pgbouncer_cannot_serve_is_refused_with_a_message(tmp_path, url, message):
    result = configure(url, tmp_path, "--listen", "127.0.0.1:6432")

    assert result.returncode == 1
    assert message in result.stderr


@pytest.fixture
def pgbouncer(tmp_path):
    """Debian's pgbouncer in front of this pass's PostgreSQL server (its maintenance database), on a free port."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("PgBouncer is tried in the PostgreSQL pass")
    if not os.access(PGBOUNCER, os.X_OK):
        if os.environ.get("CI") == "true":
            pytest.fail("pgbouncer is missing: CI must install it (Debian: pgbouncer).", pytrace=False)
        pytest.skip("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    server = urlsplit(os.environ["DATABASE_URL"])
    port = free_port()
    result = configure(server._replace(path="/postgres").geturl(), tmp_path, "--listen", f"127.0.0.1:{port}")
    assert result.returncode == 0, result.stderr
    as_user = []
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(tmp_path, "postgres")
        for path in tmp_path.iterdir():
            shutil.chown(path, "postgres")
        as_user = ["--user", "postgres"]
    process = subprocess.Popen(
        [PGBOUNCER, *as_user, str(tmp_path / "pgbouncer.ini")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"pgbouncer did not start: {process.stdout.read().decode()[-2000:]}")
                time.sleep(0.1)
        yield result.stdout.strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


QUERIES = (
    "import json, django; django.setup(); from django.db import connection; "
    "wrapper = connection.settings_dict; "
    "cursor = connection.cursor(); cursor.execute('SELECT 41 + 1'); answer = cursor.fetchone()[0]; "
    "print(json.dumps({'answer': answer, 'time_zone': connection.connection.get_parameter_status('TimeZone'), "
    "'server_side_cursors_off': wrapper['DISABLE_SERVER_SIDE_CURSORS'], "
    "'through': connection.connection.info.port}))"
)


def test_django_reaches_postgresql_through_the_generated_pgbouncer(pgbouncer):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vmlab.settings",
        "DATABASE_URL": pgbouncer,
        "DATABASE_POOLING": "pgbouncer",
    }
    result = subprocess.run(
        [sys.executable, "-c", QUERIES],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer == {
        "answer": 42,
        # PgBouncer reports the server's time zone as Django wants it, so Django sends no SET TIME ZONE.
        "time_zone": "UTC",
        "server_side_cursors_off": True,
        "through": urlsplit(pgbouncer).port,
    }
