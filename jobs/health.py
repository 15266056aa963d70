"""What the admins' worker page shows: for each periodic job, its last run and next one; whether a worker answered
lately (the heartbeat job's last run); the queue's length and the latest failures. Read from the task queue's own
tables (django_q), in a fixed number of queries."""

import datetime
import logging
from dataclasses import dataclass

from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Failure, Schedule, Task

from jobs.schedules import Job, jobs

logger = logging.getLogger(__name__)

HEARTBEAT = "jobs.tasks.heartbeat"
# The scheduler runs every 30 seconds; a heartbeat older than this means no worker has been taking tasks.
WORKER_SILENT_AFTER = datetime.timedelta(minutes=3)
FAILURES_SHOWN = 10


@dataclass(frozen=True)
class JobHealth:
    job: Job
    scheduled: bool
    next_run: datetime.datetime | None
    last_started: datetime.datetime | None
    last_stopped: datetime.datetime | None
    last_success: bool | None  # None: no run recorded (never ran, or still running)
    last_result: str

    @property
    def late(self) -> bool:
        """Due for longer than a scheduler pass and a run should take: no worker took it."""
        slack = datetime.timedelta(minutes=2)
        return self.next_run is not None and self.next_run + slack < timezone.now()


@dataclass(frozen=True)
class Health:
    jobs: list[JobHealth]
    last_heartbeat: datetime.datetime | None
    queued: int | None  # None: the broker did not answer
    failures: list

    @property
    def worker_answering(self) -> bool:
        return self.last_heartbeat is not None and timezone.now() - self.last_heartbeat <= WORKER_SILENT_AFTER


def health() -> Health:
    known = jobs()
    schedules = {schedule.name: schedule for schedule in Schedule.objects.filter(name__in=[j.name for j in known])}
    task_ids = [schedule.task for schedule in schedules.values() if schedule.task]
    runs = {
        task.id: task
        for task in Task.objects.filter(id__in=task_ids).only("id", "started", "stopped", "success", "result")
    }
    rows = []
    for job in known:
        schedule = schedules.get(job.name)
        run = runs.get(schedule.task) if schedule is not None and schedule.task else None
        rows.append(
            JobHealth(
                job=job,
                scheduled=schedule is not None,
                next_run=schedule.next_run if schedule is not None else None,
                last_started=run.started if run else None,
                last_stopped=run.stopped if run else None,
                last_success=run.success if run else None,
                last_result=_short(run.result) if run else "",
            )
        )
    heartbeat = (
        Task.objects.filter(func=HEARTBEAT, success=True).order_by("-stopped").values_list("stopped", flat=True).first()
    )
    failures = list(
        Failure.objects.order_by("-stopped").only("name", "func", "stopped", "result", "group")[:FAILURES_SHOWN]
    )
    return Health(jobs=rows, last_heartbeat=heartbeat, queued=_queued(), failures=failures)


def _queued() -> int | None:
    try:
        return get_broker().queue_size()
    except Exception:  # Redis down: the page says so rather than failing
        logger.warning("The task queue's broker did not answer", exc_info=True)
        return None


def _short(result) -> str:
    text = "" if result is None else str(result)
    return text if len(text) <= 200 else text[:199] + "…"
