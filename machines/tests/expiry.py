"""Assignments that end, for tests that must be real: the product compares ends with the database's clock, which
time-machine does not move. An assignment made while time-machine travels to the past has an end that is already
behind the database's clock when the test comes back; one made to end a second from now ends for real."""

import datetime
import time

import time_machine
from django.utils import timezone

from machines import services


def assign_ended(vm, *, actor, assignee, ended_ago=datetime.timedelta(hours=1), lasted=datetime.timedelta(hours=2)):
    """Assign `vm` for `lasted`, that long before it ended `ended_ago`: returns the end (in the past)."""
    with time_machine.travel(timezone.now() - ended_ago - lasted):
        until = timezone.now() + lasted
        services.vm_assign(vm=vm, actor=actor, assignee=assignee, until=until)
    return until


def assign_ending_soon(vm, *, actor, assignee, seconds=1.0) -> datetime.datetime:
    """Assign `vm` until `seconds` from now: returns the end."""
    until = timezone.now() + datetime.timedelta(seconds=seconds)
    services.vm_assign(vm=vm, actor=actor, assignee=assignee, until=until)
    return until


def wait_past(moment: datetime.datetime) -> None:
    """Sleep until the real clock (the database's too, on this machine) is past `moment`."""
    time.sleep(max(0.0, moment.timestamp() - time.time()) + 0.05)
