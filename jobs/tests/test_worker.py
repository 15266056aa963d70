"""The task queue with real worker processes (`manage.py qcluster`) on the test database and Redis (or the database)
as broker: a probe queued by "Check now" is run and its result stored; a schedule due while two workers run becomes
one task, not two.

PostgreSQL only: a worker is another process, and SQLite's in-memory test database cannot be shared with it. Redis
database 6 by default (TEST_TASK_BROKER_URL), under a queue name of this test run's own, whose keys are removed after.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from urllib.parse import quote

import asyncssh
import psycopg2
import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule, Task

from access.roles import Role
from accounts.tests.factories import UserFactory
from connect.models import Reachability
from connect.tests.sshserver import SSHTestServer
from machines.tests.factories import VirtualMachineFactory

BROKER_URL = os.environ.get("TEST_TASK_BROKER_URL", "redis://127.0.0.1:6379/6")
WAIT = 90  # seconds: a worker's scheduler first looks at the schedules 30 s after it starts


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("Worker processes cannot see SQLite's in-memory test database: this runs in the PostgreSQL pass.")


@pytest.fixture
def queue_name():
    return f"vmlab-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_broker(queue_name):
    client = redis.Redis.from_url(BROKER_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {BROKER_URL} is not answering: {error}")
        pytest.skip(f"Redis at {BROKER_URL} is not answering (set TEST_TASK_BROKER_URL)")
    yield BROKER_URL
    for key in client.scan_iter(match=f"django_q:{queue_name}:*"):  # this run's keys only
        client.delete(key)


@pytest.fixture
def ssh_server():
    server = SSHTestServer(
        host_key=asyncssh.generate_private_key("ssh-ed25519"),
        client_key=asyncssh.generate_private_key("ssh-ed25519"),
    ).start()
    yield server
    server.stop()


def database_url_of_this_test() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def workers(tmp_path, queue_name):
    """Start worker processes on the test database; each is stopped (SIGTERM, as systemd or compose would) at the
    end, and its log is kept for the assertion messages."""
    started = []

    def start(broker_url: str) -> subprocess.Popen:
        log = tmp_path / f"worker-{len(started)}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url_of_this_test(),
            "TASK_BROKER_URL": broker_url,
            "TASK_QUEUE_NAME": queue_name,
            "TASK_WORKERS": "1",
            "REACHABILITY_TIMEOUT": "2",
            "LOG_LEVEL": "INFO",
        }
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        process.log = log
        started.append(process)
        return process

    start.logs = lambda: "\n".join(f"--- {p.log.name}\n{p.log.read_text()}" for p in started)
    yield start
    for process in started:
        process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            assert process.wait(timeout=30) == 0, start.logs()
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise


@pytest.fixture
def enqueue_to(monkeypatch, queue_name):
    """This process queues tasks where the workers take them: their broker, their queue name."""

    def use(broker_url: str) -> None:
        monkeypatch.setattr(Conf, "SYNC", False)
        monkeypatch.setattr(Conf, "PREFIX", queue_name)
        monkeypatch.setattr(Conf, "CLUSTER_NAME", queue_name)
        if broker_url:
            monkeypatch.setattr(Conf, "ORM", None)
            monkeypatch.setattr(Conf, "REDIS", broker_url)

    return use


def wait_for(condition, what: str, logs, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout:g} s\n{logs()}"
        time.sleep(0.2)


@pytest.mark.parametrize("broker", ["redis", "database"])
def test_check_now_is_run_by_a_worker_and_its_result_stored(
    request, postgres, client, ssh_server, workers, enqueue_to, broker
):
    broker_url = request.getfixturevalue("redis_broker") if broker == "redis" else ""
    owner = UserFactory(role=Role.MANAGER)
    vm = VirtualMachineFactory(
        owner=owner, host="127.0.0.1", port=ssh_server.port, host_key=ssh_server.host_key_line, shared=True
    )
    workers(broker_url)
    enqueue_to(broker_url)
    client.force_login(owner)

    response = client.post(reverse("connect:check_status", args=[vm.pk]), follow=True)

    assert "A check is queued" in response.text
    wait_for(lambda: Reachability.objects.filter(vm=vm, state="up").exists(), "stored probe result", workers.logs)
    assert client.get(reverse("connect:status", args=[vm.pk]))["X-Status-Queued"] == "false"


def test_a_due_schedule_runs_once_with_two_workers(postgres, ssh_server, redis_broker, workers):
    """Both workers' schedulers reach the due schedule while this test holds its row lock (as a first worker would):
    PostgreSQL shows both waiting. Once the lock is released, one creates the task and moves the next run on; the
    other, re-reading the row, finds it no longer due."""
    owner = UserFactory(role=Role.MANAGER)
    VirtualMachineFactory(owner=owner, host="127.0.0.1", port=ssh_server.port, host_key=ssh_server.host_key_line)
    due = timezone.now() - timedelta(minutes=1)
    schedule = Schedule.objects.create(
        name="Probe every VM",
        func="connect.tasks.probe_all_vms",
        schedule_type=Schedule.MINUTES,
        minutes=60,
        repeats=-1,
        next_run=due,
    )
    workers(redis_broker)
    workers(redis_broker)

    with transaction.atomic():
        Schedule.objects.select_for_update().get(pk=schedule.pk)
        wait_for(lambda: waiting_on_schedule_lock() == 2, "two schedulers waiting on the lock", workers.logs)

    wait_for(lambda: Reachability.objects.filter(state="up").exists(), "probe result", workers.logs)
    time.sleep(2)  # the second scheduler had every chance to make a second task
    assert Task.objects.filter(group="Probe every VM").count() == 1, workers.logs()
    schedule.refresh_from_db()
    assert timedelta(minutes=59) < schedule.next_run - due < timedelta(minutes=62)
    assert workers.logs().count("from schedule [Probe every VM]") == 1


def waiting_on_schedule_lock() -> int:
    """Sessions waiting for a lock on the schedule table, seen from a connection of its own (inside a transaction,
    pg_stat_activity would keep showing the moment it was first read)."""
    db = connection.settings_dict
    with (
        psycopg2.connect(
            dbname=db["NAME"],
            user=db["USER"],
            password=db["PASSWORD"],
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
        ) as observer,
        observer.cursor() as cursor,
    ):
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query ILIKE %s",
            ["%django_q_schedule%"],
        )
        count = cursor.fetchone()[0]
    observer.close()
    return count
