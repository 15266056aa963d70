"""`manage.py setup_schedules` and the admins' page on the task queue's workers."""

import datetime
import importlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import Failure, Schedule, Task

from access.roles import Role
from accounts.tests.factories import UserFactory
from jobs.schedules import jobs

pytestmark = pytest.mark.django_db

WORKER_PAGE = reverse("jobs:health")


def setup_schedules():
    out = StringIO()
    call_command("setup_schedules", stdout=out)
    return out.getvalue()


def schedules():
    return dict(Schedule.objects.values_list("name", "minutes"))


def test_setup_schedules_creates_every_periodic_job(settings):
    settings.REACHABILITY_INTERVAL, settings.BACKUP_EVERY_HOURS = 5, 24

    output = setup_schedules()

    assert schedules() == {
        "Probe every VM": 5,
        "Send expiry reminders": 60,
        "Close ended assignments": 60,
        "Back up the database": 24 * 60,
        "Worker heartbeat": 1,
    }
    assert "5 created, 0 updated, 0 removed, 0 unchanged." in output


def test_backups_every_zero_hours_are_no_schedule(settings):
    settings.BACKUP_EVERY_HOURS = 0

    setup_schedules()

    assert "Back up the database" not in schedules()


def test_running_it_again_changes_nothing():
    setup_schedules()
    before = list(Schedule.objects.values())

    output = setup_schedules()

    assert list(Schedule.objects.values()) == before
    assert "0 created, 0 updated, 0 removed, 5 unchanged." in output


def test_a_new_interval_updates_the_schedule_and_zero_removes_it(settings):
    setup_schedules()
    settings.REACHABILITY_INTERVAL = 15
    assert "updated  Probe every VM: every 15 min" in setup_schedules()
    assert schedules()["Probe every VM"] == 15

    settings.REACHABILITY_INTERVAL = 0

    assert "removed  Probe every VM (turned off)" in setup_schedules()
    assert "Probe every VM" not in schedules()


def test_schedules_made_by_hand_are_left_alone():
    Schedule.objects.create(name="Nightly report", func="math.floor", schedule_type=Schedule.DAILY)

    setup_schedules()

    assert "Nightly report" in schedules()


def test_every_job_names_a_function_that_exists():
    for job in jobs():
        module, name = job.func.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), name)), job.func


@pytest.mark.parametrize("role", [Role.REGULAR, Role.SIDEKICK, Role.MANAGER])
def test_the_worker_page_is_for_admins_only(client, role):
    client.force_login(UserFactory(role=role))

    assert client.get(WORKER_PAGE).status_code == 404


def test_the_worker_page_shows_each_jobs_last_run_and_whether_a_worker_answers(admin_client):
    setup_schedules()
    now = timezone.now()
    heartbeat = Schedule.objects.get(name="Worker heartbeat")
    Task.objects.create(
        id="a" * 32,
        name="beat",
        func="jobs.tasks.heartbeat",
        started=now,
        stopped=now,
        success=True,
        result="alive",
        group="Worker heartbeat",
    )
    Schedule.objects.filter(pk=heartbeat.pk).update(task="a" * 32)
    Failure.objects.create(
        id="b" * 32,
        name="mail",
        func="access_requests.mail.send_message",
        started=now,
        stopped=now,
        success=False,
        result="SMTPServerDisconnected('Connection unexpectedly closed')",
        group="E-mail",
    )

    page = admin_client.get(WORKER_PAGE).text

    assert "A worker answered" in page
    assert "alive" in page
    assert "SMTPServerDisconnected" in page
    assert page.count("never (or running now)") == 4  # the four jobs that have not run yet
    assert '<a href="/jobs/">Worker</a>' in page  # linked from the navigation


def test_the_worker_page_says_when_no_worker_has_answered_lately(admin_client):
    setup_schedules()
    long_ago = timezone.now() - datetime.timedelta(minutes=30)
    Task.objects.create(
        id="c" * 32, name="beat", func="jobs.tasks.heartbeat", started=long_ago, stopped=long_ago, success=True
    )
    Schedule.objects.filter(name="Probe every VM").update(next_run=long_ago)

    page = admin_client.get(WORKER_PAGE).text

    assert "No worker has answered since" in page
    assert "manage.py qcluster" in page
    assert "late" in page


def test_the_worker_page_says_when_nothing_is_set_up(admin_client):
    page = admin_client.get(WORKER_PAGE).text

    assert "No worker has run the heartbeat yet" in page
    assert "run <code>manage.py setup_schedules</code>" in page
