"""Reminders before access ends (an hourly job): EXPIRY_WARNING_DAYS ahead, one e-mail per assignment end to the
user and to the VM's owner, and one per account end to the user. Each goes out once: a Reminder row, unique per
thing and end, is written before the mail is queued, in the same transaction, so another worker or a re-run finds
it and sends nothing. A new end (an extension) gets its own reminder.
"""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from access_requests.mail import notify
from access_requests.models import Reminder
from machines.models import Assignment, VirtualMachine


def _claim(subject: str, ends_at: datetime.datetime) -> bool:
    """Whether this reminder is ours to send: False if it was sent before (by this job, or another worker's)."""
    try:
        with transaction.atomic():
            Reminder.objects.create(subject=subject, ends_at=ends_at)
    except IntegrityError:
        return False
    return True


def send_due_reminders() -> int:
    """Queue the reminders now due; returns how many things (assignments, accounts) were reminded of."""
    now = timezone.now()
    horizon = now + datetime.timedelta(days=settings.EXPIRY_WARNING_DAYS)
    sent = 0
    vms = (
        VirtualMachine.objects.assignment_ending_between(now, horizon)
        .filter(assigned_to__is_active=True)
        .select_related("owner", "assigned_to")
        .only("name", "assigned_until", "owner", "assigned_to")
    )
    for vm in vms.iterator(chunk_size=500):
        assignment = Assignment.objects.filter(vm=vm, ended_at__isnull=True).values_list("pk", flat=True).first()
        with transaction.atomic():
            if not _claim(f"assignment:{assignment or f'vm{vm.pk}'}", vm.assigned_until):
                continue
            context = {"vm": vm, "user": vm.assigned_to, "until": vm.assigned_until}
            notify([vm.assigned_to], "assignment_ending", context)
            if vm.owner_id != vm.assigned_to_id and vm.owner.is_active:
                notify([vm.owner], "assignment_ending_owner", context)
        sent += 1
    accounts = get_user_model().objects.active().filter(access_expires_at__gt=now, access_expires_at__lte=horizon)
    for user in accounts.iterator(chunk_size=500):
        with transaction.atomic():
            if not _claim(f"account:{user.pk}", user.access_expires_at):
                continue
            notify([user], "account_ending", {"user": user, "until": user.access_expires_at})
        sent += 1
    return sent
