"""The periodic jobs, as `manage.py setup_schedules` writes them into the task queue's schedule table.

A schedule is turned into a task by the scheduler of one worker only: each worker's scheduler reads the schedules
that are due with SELECT … FOR UPDATE inside a transaction and moves their next run on before it commits, so a
second worker waits for the lock and then finds the schedule no longer due (tested with two workers on
PostgreSQL: jobs/tests/test_worker.py).
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Job:
    name: str  # the schedule's name, unique: what setup_schedules updates
    func: str  # the dotted path of the function the worker runs
    minutes: int  # 0: no schedule (the job is off)
    description: str

    @property
    def label(self) -> str:
        """The name as people read it: `name` is the schedule's key in the database, so it stays English there."""
        return gettext(self.name)


def jobs() -> list[Job]:
    return [
        Job(
            gettext_noop("Probe every VM"),
            "connect.tasks.probe_all_vms",
            settings.REACHABILITY_INTERVAL,
            _("TCP, SSH banner and host key of every VM (REACHABILITY_INTERVAL; 0 turns it off)."),
        ),
        Job(
            gettext_noop("Send expiry reminders"),
            "access_requests.reminders.send_due_reminders",
            60,
            _("E-mails EXPIRY_WARNING_DAYS before an assignment or an account ends, once each."),
        ),
        Job(
            gettext_noop("Close ended assignments"),
            "machines.services.vm_assignments_close_expired",
            60,
            _("Marks assignments past their end as ended in the VM's history (access already ended at the time)."),
        ),
        Job(
            gettext_noop("Back up the database"),
            "backups.tasks.scheduled_backup",
            settings.BACKUP_EVERY_HOURS * 60,
            _("A backup into BACKUP_DIR every BACKUP_EVERY_HOURS (0 turns it off), keeping the BACKUP_KEEP newest."),
        ),
        Job(
            gettext_noop("Worker heartbeat"),
            "jobs.tasks.heartbeat",
            1,
            _("Shows that a worker runs the schedules: its last run is at most a minute or two old."),
        ),
    ]
