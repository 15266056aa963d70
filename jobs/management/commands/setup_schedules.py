"""`manage.py setup_schedules`: write the periodic jobs of jobs.schedules into the task queue's schedule table.

Idempotent: a schedule is created, changed to match the settings (e.g. a new REACHABILITY_INTERVAL) or removed
(a job turned off); run again, it changes nothing. `make run`, `make serve-prod` and the Docker image run it at
start. Schedules it does not know (made by hand in the Django admin) are left alone.
"""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.models import Schedule

from jobs.schedules import jobs


class Command(BaseCommand):
    @property
    def help(self):
        return _("Create or update the task queue's periodic jobs from the settings (safe to re-run).")

    @transaction.atomic
    def handle(self, *args, **options):
        counts = {"created": 0, "updated": 0, "removed": 0, "unchanged": 0}
        for job in jobs():
            existing = Schedule.objects.select_for_update().filter(name=job.name).first()
            if not job.minutes:
                if existing is not None:
                    existing.delete()
                    counts["removed"] += 1
                    self.stdout.write(_("removed  %(name)s (turned off)") % {"name": job.name})
                continue
            wanted = {"func": job.func, "schedule_type": Schedule.MINUTES, "minutes": job.minutes, "repeats": -1}
            if existing is None:
                Schedule.objects.create(name=job.name, next_run=timezone.now(), **wanted)
                counts["created"] += 1
                message = _("created  %(name)s: every %(minutes)d min, %(func)s")
                self.stdout.write(message % {"name": job.name, "minutes": job.minutes, "func": job.func})
            elif any(getattr(existing, field) != value for field, value in wanted.items()):
                Schedule.objects.filter(pk=existing.pk).update(**wanted)
                counts["updated"] += 1
                message = _("updated  %(name)s: every %(minutes)d min, %(func)s")
                self.stdout.write(message % {"name": job.name, "minutes": job.minutes, "func": job.func})
            else:
                counts["unchanged"] += 1
        self.stdout.write(
            _("%(created)d created, %(updated)d updated, %(removed)d removed, %(unchanged)d unchanged.") % counts
        )
