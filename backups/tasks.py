"""The scheduled backup: the task queue's worker runs it every BACKUP_EVERY_HOURS (jobs.schedules)."""

from django.conf import settings

from backups.services import backup_create


def scheduled_backup() -> str:
    """One backup into BACKUP_DIR, keeping the BACKUP_KEEP newest; returns the file's name, for the task's record."""
    return backup_create(keep=settings.BACKUP_KEEP).path.name
