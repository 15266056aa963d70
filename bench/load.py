"""Load on the production server, on loopback: `make bench` (or .venv/bin/python bench/load.py).

scripts/serve_prod.sh serves a scratch PostgreSQL database as `make serve-prod` does: DEBUG=False, gunicorn with
uvicorn workers (WEB_CONCURRENCY, two by default here), whitenoise, Redis as the shared cache. 50 users each own
20 VMs with passwords and 100 bookmarks. 50 clients log in through the login form, then each fetches its own
dashboard over its own keep-alive connection, one request after another, for 30 seconds after a warm-up; then the
same clients fetch the floor page (a logged-in 404: every middleware, the session and the user, a template, no
view) the same way for as long. The dashboard's requests/s as a fraction of the floor's says how close the page is
to the framework's own limit on the same server in the same run (goal >= 0.5). PostgreSQL's own count of sessions
opened in the database (pg_stat_database.sessions), read before and after each phase, plus the connections opened
during the phase and still open (which may not have reported yet), divided by the requests of that phase, says how
many connections a request opens at most (goal much less than 1); the connections open in the
database (pg_stat_activity) are counted before, at the end of and after the load, so a leak would show.

The server reaches PostgreSQL as `make serve-prod` does, through PgBouncer. To compare: BENCH_DATABASE_POOLING=none
connects the workers directly; BENCH_CONN_MAX_AGE=60 adds Django's persistent connections (with health checks).

Then the counters the workers share. The kernel hands each new connection to one of the worker processes; which
one took it is read from /proc. A user's reveal attempts and another user's wrong passwords are sent in turn over
connections held by different workers: REVEAL_RATE_LIMIT reveals a minute and AXES_FAILURE_LIMIT failures must
count for the user as a whole, as they would not if each worker kept its own counters.
"""

import asyncio
import collections
import contextlib
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from scratch import FLOOR_PATH, ROOT, bench_environment, drop_database, free_port, goal, setup_django

CLIENTS = 50
USERS_VMS = 20
USERS_BOOKMARKS = 100
WARM_UP = 3.0
DURATION = float(os.environ.get("LOAD_SECONDS", 30))
PASSWORD = "load-test-password-7"  # noqa: S105 (a scratch database's users)
WORKERS = int(os.environ.get("WEB_CONCURRENCY", max(2, os.cpu_count() or 1)))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
GOAL_FRACTION = 0.5
CONNECTIONS_TIMED = 200
GOAL_CONNECTIONS_PER_REQUEST = 0.1


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name):
        return next((value for key, value in self.headers if key == name), None)

    @property
    def text(self):
        return self.body.decode()


@dataclass(eq=False)
class Connection:
    """One keep-alive HTTP/1.1 connection with its own cookies, like one browser tab."""

    port: int
    cookies: dict = field(default_factory=dict)

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.client_port = self.writer.get_extra_info("sockname")[1]
        return self

    async def request(self, method, path, form=None) -> Response:
        body = urlencode(form).encode() if form is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"Content-Length: {len(body)}"]
        if form is not None:
            lines.append("Content-Type: application/x-www-form-urlencoded")
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{name}={value}" for name, value in self.cookies.items()))
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")[:-2]
        headers = [(key.lower(), value.strip()) for key, value in (line.split(":", 1) for line in header_lines)]
        response = Response(int(status_line.split()[1]), headers, b"")
        response.body = await self._body(response)
        for name, value in headers:
            if name == "set-cookie":
                cookie_name, cookie_value = value.split(";", 1)[0].split("=", 1)
                self.cookies[cookie_name] = cookie_value
        return response

    async def _body(self, response):
        if response.header("transfer-encoding") == "chunked":
            chunks = []
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                chunks.append(await self.reader.readexactly(size + 2))
            await self.reader.readuntil(b"\r\n")
            return b"".join(chunk[:-2] for chunk in chunks)
        return await self.reader.readexactly(int(response.header("content-length") or 0))

    async def form_token(self, path):
        page = await self.request("GET", path)
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)

    async def log_in(self, username, password) -> Response:
        token = await self.form_token("/accounts/login/")
        return await self.request(
            "POST", "/accounts/login/", {"csrfmiddlewaretoken": token, "username": username, "password": password}
        )

    def close(self):
        self.writer.close()


def create_users():
    """50 sidekicks with VMs and bookmarks, a user whose reveals are counted and one who mistypes a password."""
    from django.contrib.auth.hashers import make_password

    from access.roles import Role
    from accounts.models import User
    from bookmarks.models import Bookmark
    from machines.models import VirtualMachine

    password_hash = make_password(PASSWORD)
    names = [f"load{number:02}" for number in range(CLIENTS)] + ["revealer", "guesser"]
    users = User.objects.bulk_create(
        User(username=name, email=f"{name}@lab.example", role=Role.SIDEKICK, password=password_hash) for name in names
    )
    vms = []
    for user in users:
        for number in range(USERS_VMS if user.username.startswith("load") else 1):
            vm = VirtualMachine(owner=user, name=f"{user.username}-vm{number}", host=f"vm{number}.lab.example")
            vm.username = "lab"
            vm.password = f"vm-password-{number}"
            vms.append(vm)
    VirtualMachine.objects.bulk_create(vms)
    Bookmark.objects.bulk_create(
        Bookmark(owner=user, name=f"Page {number}", link=f"https://docs.lab.example/{user.username}/{number}")
        for user in users[:CLIENTS]
        for number in range(USERS_BOOKMARKS)
    )
    return VirtualMachine.objects.get(owner__username="revealer").pk


def start_server(env, port, log) -> subprocess.Popen:
    database_url = env["DATABASE_URL"]
    if "BENCH_CONN_MAX_AGE" in os.environ:  # Django's persistent connections, with their health checks
        database_url += f"?conn_max_age={int(os.environ['BENCH_CONN_MAX_AGE'])}&conn_health_checks=true"
    server_env = {**env, "PROD_DATABASE_URL": database_url, "CACHE_URL": REDIS_URL, "BIND": f"127.0.0.1:{port}"}
    server_env["WEB_CONCURRENCY"] = str(WORKERS)
    # The task queue's worker runs beside the server, on this benchmark's Redis database; it must not probe the
    # load VMs, whose host names are not on this machine.
    server_env |= {"TASK_BROKER_URL": REDIS_URL, "TASK_QUEUE_NAME": "vmlab-bench-load", "REACHABILITY_INTERVAL": "0"}
    # Whatever a developer's .env says about pooling: serve_prod.sh's default (PgBouncer), unless this run says
    # otherwise (BENCH_DATABASE_POOLING=none: direct connections, as before PgBouncer).
    server_env.pop("DATABASE_POOLING", None)
    if "BENCH_DATABASE_POOLING" in os.environ:
        server_env["DATABASE_POOLING"] = os.environ["BENCH_DATABASE_POOLING"]
    server_env["PY"] = sys.executable
    server = subprocess.Popen(  # noqa: S603
        ["/bin/bash", str(ROOT / "scripts" / "serve_prod.sh")], cwd=ROOT, env=server_env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The production server stopped (status {server.returncode}):\n{tail(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit(f"The production server did not answer within 90 s:\n{tail(log)}")


def pgbouncer_url(log, database_url):
    """The URL of the PgBouncer serve_prod.sh started, from the line it printed; None without one."""
    log.flush()
    found = re.search(r"through PgBouncer on 127\.0\.0\.1:(\d+)", Path(log.name).read_text())
    if not found:
        return None
    url = urlsplit(database_url)
    credentials, at, _address = url.netloc.rpartition("@")
    return url._replace(netloc=f"{credentials}{at}127.0.0.1:{found[1]}").geturl()


def connection_set_up(database_url, through_pgbouncer):
    """Median milliseconds to connect, run one statement as Django does (autocommit) and close: directly and, if
    the server has one, through its PgBouncer."""
    import psycopg2

    def median_ms(url):
        timings = []
        for _ in range(CONNECTIONS_TIMED):
            start = time.perf_counter()
            connection = psycopg2.connect(url)
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
            connection.close()
            timings.append(time.perf_counter() - start)
        return statistics.median(timings) * 1000

    return median_ms(database_url), median_ms(through_pgbouncer) if through_pgbouncer else None


def tail(log):
    log.flush()
    return Path(log.name).read_text()[-3000:]


def children_of(pid):
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def gunicorn_master(server_pid):
    """gunicorn's master: serve_prod.sh itself once it has become gunicorn, or its child beside PgBouncer."""
    for pid in (server_pid, *children_of(server_pid)):
        if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise SystemExit("serve_prod.sh runs no gunicorn")


def worker_pids(master_pid, *, expected=0):
    """The worker processes of gunicorn's master, once `expected` of them have started (up to 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        children = children_of(master_pid)
        if len(children) >= expected or time.monotonic() > deadline:
            return children
        time.sleep(0.2)


def worker_of(connection, port, master_pid):
    """The worker process that holds an open connection, from the sockets each worker process holds."""
    inode_of_client_port = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            columns = line.split()
            local_port = int(columns[1].rsplit(":", 1)[1], 16)
            remote_port = int(columns[2].rsplit(":", 1)[1], 16)
            if local_port == port:
                inode_of_client_port[remote_port] = columns[9]
    owner_of_inode = {}
    for pid in worker_pids(master_pid):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                owner_of_inode[target[8:-1]] = pid
    return owner_of_inode.get(inode_of_client_port.get(connection.client_port))


async def connections_on_every_worker(port, master_pid, cookies, path, *, wanted=2):
    """Connections (with `cookies`, each having fetched `path`, each knowing its `worker`) in turns: two held by
    each of `wanted` workers, the workers alternating."""
    by_worker = {}
    for _ in range(60):
        connection = await Connection(port, dict(cookies)).open()
        connection.token = await connection.form_token(path)
        connection.worker = worker_of(connection, port, master_pid)
        by_worker.setdefault(connection.worker, []).append(connection)
        full = [held[:2] for held in by_worker.values() if len(held) >= 2]
        if len(full) >= wanted:
            return [connection for pair in zip(*full[:wanted], strict=True) for connection in pair]
    raise SystemExit(f"The kernel gave 60 connections to {len(by_worker)} worker(s) only: cannot test sharing.")


@dataclass
class Phase:
    """One path fetched by every client for WARM_UP + DURATION seconds, and what PostgreSQL saw meanwhile."""

    path: str
    latencies: list = field(default_factory=list)  # of the measured DURATION only
    statuses: collections.Counter = field(default_factory=collections.Counter)
    errors: int = 0
    requests: int = 0  # warm-up included, as the sessions counted below
    sessions_opened: int = 0
    client_cpu: float = 0.0

    @property
    def rate(self):
        return len(self.latencies) / DURATION

    @property
    def connections_per_request(self):
        return self.sessions_opened / self.requests


async def logged_in_client(port, username):
    """A connection logged in as `username`. Logging 50 users in at once takes the server a while (a password hash
    each), and it closes connections idle for 5 s meanwhile: such a connection is opened again."""
    client = await Connection(port).open()
    for _attempt in range(3):
        try:
            return client, await client.log_in(username, PASSWORD)
        except (OSError, asyncio.IncompleteReadError):
            client.close()
            await client.open()
    return client, await client.log_in(username, PASSWORD)


async def logged_in_clients(port, usernames):
    clients_and_logins = await asyncio.gather(*(logged_in_client(port, name) for name in usernames))
    clients = [client for client, _login in clients_and_logins]
    logins = [login for _client, login in clients_and_logins]
    failed = [name for name, response in zip(usernames, logins, strict=True) if response.status != 302]
    if failed:
        raise SystemExit(f"Login failed for {failed}")
    return clients


async def run_phase(clients, usernames, phase, expect, database):
    """Every client fetches phase.path, one request after another; expect(response, username) says if it is right."""
    start = time.monotonic()
    measure_from, stop_at = start + WARM_UP, start + WARM_UP + DURATION
    sessions_before, started = database.sessions_opened(), database.now()

    async def fetch(client, username):
        while (now := time.monotonic()) < stop_at:
            try:
                response = await client.request("GET", phase.path)
                ok = expect(response, username)
            except (OSError, asyncio.IncompleteReadError):
                ok, response = False, None
                client.close()
                with contextlib.suppress(OSError):
                    await client.open()
            phase.requests += 1
            if now >= measure_from:
                phase.latencies.append(time.monotonic() - now)
                phase.statuses[response.status if response else "connection error"] += 1
                phase.errors += not ok

    cpu_before = time.process_time()
    await asyncio.gather(*(fetch(c, name) for c, name in zip(clients, usernames, strict=True)))
    phase.client_cpu = time.process_time() - cpu_before
    phase.sessions_opened = database.sessions_opened() - sessions_before + database.open_since(started)
    return phase


async def dashboard_and_floor_load(port, usernames, database):
    clients = await logged_in_clients(port, usernames)
    dashboard = await run_phase(
        clients,
        usernames,
        Phase("/"),
        lambda response, username: response.status == 200 and f"{username}-vm" in response.text,
        database,
    )
    open_at_end = database.open_connections()
    floor = await run_phase(
        clients, usernames, Phase(FLOOR_PATH), lambda response, _username: response.status == 404, database
    )
    for client in clients:
        client.close()
    return dashboard, floor, open_at_end


class DatabaseCounters:
    """PostgreSQL's own counts for the benchmark's database, read over one connection of its own."""

    SETTLE = 1.5  # seconds: backends report their statistics at most about once a second

    def __init__(self, url):
        import psycopg2

        self.connection = psycopg2.connect(url)
        self.connection.autocommit = True

    def _value(self, sql):
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(sql)
            return cursor.fetchone()[0]

    def now(self):
        return self._value("SELECT clock_timestamp()")

    def sessions_opened(self):
        """Sessions ever opened in this database (PostgreSQL 14+), as far as they have reported: a session that
        ended has, one still open may not have yet."""
        time.sleep(self.SETTLE)
        return self._value("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")

    def open_since(self, moment):
        """Connections opened since `moment` and still open: added to the sessions counted, so that the count is an
        upper bound (those that have reported already count twice)."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_start >= %s "
                "AND pid <> pg_backend_pid()",
                [moment],
            )
            return cursor.fetchone()[0]

    def open_connections(self):
        """Connections open in this database now, other than this one."""
        return self._value(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

    def close(self):
        self.connection.close()


async def reveal_limit_holds(port, master_pid, vm_pk, limit):
    login = await Connection(port).open()
    await login.log_in("revealer", PASSWORD)
    path = f"/machines/{vm_pk}/reveal/"
    turns = await connections_on_every_worker(port, master_pid, login.cookies, path)
    outcomes = {connection.worker: [] for connection in turns}
    for attempt in range(2 * limit + 2):
        connection = turns[attempt % len(turns)]
        response = await connection.request(
            "POST",
            path,
            {"csrfmiddlewaretoken": connection.token, "secret": "password", "account_password": PASSWORD},
        )
        outcomes[connection.worker].append("revealed" if "vm-password-0" in response.text else str(response.status))
    return outcomes


async def lockout_holds(port, master_pid, failure_limit):
    turns = await connections_on_every_worker(port, master_pid, {}, "/accounts/login/")
    failures_by_worker = {connection.worker: 0 for connection in turns}
    for attempt in range(failure_limit):
        connection = turns[attempt % len(turns)]
        token = await connection.form_token("/accounts/login/")
        await connection.request(
            "POST", "/accounts/login/", {"csrfmiddlewaretoken": token, "username": "guesser", "password": "wrong"}
        )
        failures_by_worker[connection.worker] += 1
    last = turns[failure_limit % len(turns)]
    right_password = await last.log_in("guesser", PASSWORD)
    return failures_by_worker, last.worker, right_password.status


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    with tempfile.TemporaryDirectory(prefix="vmlab-load-") as workdir:
        return measure(Path(workdir))


def measure(workdir):
    env = bench_environment(workdir, database="vmlab_bench_load")
    server = None
    try:
        setup_django()
        import redis
        from django.conf import settings

        redis.Redis.from_url(REDIS_URL).flushdb()
        vm_pk = create_users()
        port = free_port()
        log = open(workdir / "server.log", "w")  # noqa: SIM115 (open while the server runs)
        server = start_server(env, port, log)
        master = gunicorn_master(server.pid)
        workers = worker_pids(master, expected=WORKERS)
        pooling = os.environ.get("BENCH_DATABASE_POOLING", "pgbouncer")
        print(
            f"production server: gunicorn + {len(workers)} uvicorn workers, PostgreSQL "
            f"({'through PgBouncer' if pooling == 'pgbouncer' else 'direct connections'}), Redis, DEBUG=False"
        )

        usernames = [f"load{number:02}" for number in range(CLIENTS)]
        database = DatabaseCounters(env["DATABASE_URL"])
        open_before = database.open_connections()
        dashboard, floor, open_at_end = asyncio.run(dashboard_and_floor_load(port, usernames, database))
        time.sleep(2)
        open_after = database.open_connections()
        database.close()
        set_up = connection_set_up(env["DATABASE_URL"], pgbouncer_url(log, env["DATABASE_URL"]))
        reveals = asyncio.run(reveal_limit_holds(port, master, vm_pk, settings.REVEAL_RATE_LIMIT))
        failures, last_pid, last_status = asyncio.run(lockout_holds(port, master, settings.AXES_FAILURE_LIMIT))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        drop_database(env)

    revealed = sum(outcome.count("revealed") for outcome in reveals.values())
    attempts = sum(len(outcome) for outcome in reveals.values())
    for pid, outcome in reveals.items():
        print(f"  reveal attempts on worker {pid}: {', '.join(outcome)}")
    print(f"  wrong passwords per worker: {failures}; then the right one on worker {last_pid}: HTTP {last_status}")
    reveal_holds = revealed == settings.REVEAL_RATE_LIMIT
    lockout_ok = last_status == 429
    print(
        f"reveal rate limit across {len(reveals)} workers: {revealed} of {attempts} attempts revealed "
        f"(limit {settings.REVEAL_RATE_LIMIT} a minute): {'holds' if reveal_holds else 'BROKEN'}"
    )
    print(
        f"lockout across {len(failures)} workers: {sum(failures.values())} wrong passwords, then the right one "
        f"{'refused (locked out): holds' if lockout_ok else f'answered {last_status}: BROKEN'}"
    )
    for phase in (dashboard, floor):
        p50, p95 = statistics.median(phase.latencies) * 1000, percentile(phase.latencies, 0.95) * 1000
        print(
            f"{phase.path}: {CLIENTS} logged-in clients for {DURATION:.0f} s: {phase.rate:.0f} requests/s, "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, responses {dict(phase.statuses)}, errors {phase.errors}; "
            "PostgreSQL sessions opened "
            f"{phase.sessions_opened} for {phase.requests} requests (warm-up included); client CPU "
            f"{phase.client_cpu:.1f} s of {DURATION + WARM_UP:.0f} s (the client shares the machine's cores)"
        )
    print(
        f"connections open in the database: {open_before} before the load, {open_at_end} at the end of the "
        f"dashboard phase, {open_after} 2 s after the load"
    )
    direct_ms, pooled_ms = set_up
    print(
        f"a connection (connect, SELECT 1, close), median of {CONNECTIONS_TIMED}: {direct_ms:.2f} ms to PostgreSQL"
        + (f", {pooled_ms:.2f} ms through PgBouncer" if pooled_ms is not None else "")
    )
    fraction = dashboard.rate / floor.rate
    # The dashboard's figure: Django renders a 404 on threads that keep their connection (see README, "Production").
    per_request = dashboard.connections_per_request
    errors = dashboard.errors + floor.errors
    met = fraction >= GOAL_FRACTION and errors == 0 and per_request < GOAL_CONNECTIONS_PER_REQUEST
    print(
        f"load: dashboard {dashboard.rate:.0f} requests/s = {fraction:.2f} of the floor's {floor.rate:.0f} "
        f"(goal >= {GOAL_FRACTION}), p95 {percentile(dashboard.latencies, 0.95) * 1000:.0f} ms, errors {errors} "
        f"(goal 0), PostgreSQL connections opened per dashboard request {per_request:.3f} "
        f"(goal < {GOAL_CONNECTIONS_PER_REQUEST}) {goal(met)}"
    )
    return 0 if reveal_holds and lockout_ok and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
