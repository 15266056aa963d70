"""Reminders EXPIRY_WARNING_DAYS before an assignment or an account ends: to the user and the VM's owner, once each."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from access.roles import Role
from access_requests.models import Reminder
from access_requests.reminders import send_due_reminders
from accounts.tests.factories import UserFactory
from machines import services
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

DAYS = datetime.timedelta(days=1)


@pytest.fixture
def remind(django_capture_on_commit_callbacks, mailoutbox):
    """Run the job as the worker does; the e-mails it queued are sent once its transactions commit."""

    def remind():
        with django_capture_on_commit_callbacks(execute=True):
            count = send_due_reminders()
        return count

    remind.outbox = mailoutbox
    return remind


@pytest.fixture
def kteo():
    return UserFactory(role=Role.MANAGER, username="kteo")


@pytest.fixture
def ada():
    return UserFactory(role=Role.REGULAR, username="ada", first_name="Ada")


def assign(vm, actor, assignee, until):
    services.vm_assign(vm=vm, actor=actor, assignee=assignee, until=until)


def test_an_assignment_ending_soon_is_announced_to_the_user_and_the_owner_once(remind, kteo, ada, settings):
    settings.EXPIRY_WARNING_DAYS = 3
    vm = VirtualMachineFactory(owner=kteo, name="gpu-1")
    assign(vm, kteo, ada, timezone.now() + 2 * DAYS)

    assert remind() == 1
    assert remind() == 0

    to_user, to_owner = sorted(remind.outbox, key=lambda message: message.to[0])
    assert to_user.to == ["ada@lab.example"]
    assert to_user.subject.startswith("[VM Lab] Your access to “gpu-1” ends ")
    assert "(in 1\xa0day)" in to_user.body or "(in 2\xa0days)" in to_user.body
    assert f"/requests/more-time/{vm.pk}/" in to_user.body
    assert to_owner.to == ["kteo@lab.example"]
    assert "assignment of your VM “gpu-1” to Ada" in to_owner.body


def test_the_clock_reaching_the_warning_window_sends_the_reminder(remind, kteo, ada, settings):
    settings.EXPIRY_WARNING_DAYS = 3
    vm = VirtualMachineFactory(owner=kteo)
    assign(vm, kteo, ada, timezone.now() + 10 * DAYS)
    assert remind() == 0

    with time_machine.travel(timezone.now() + 8 * DAYS):
        assert remind() == 1

    assert len(remind.outbox) == 2


def test_a_later_end_gets_its_own_reminder(remind, kteo, ada):
    vm = VirtualMachineFactory(owner=kteo)
    first = timezone.now() + DAYS
    assign(vm, kteo, ada, first)
    remind()

    services.vm_assignment_extend(vm=vm, actor=kteo, until=first + DAYS)

    assert remind() == 1
    assert Reminder.objects.count() == 2


def test_no_reminder_for_a_disabled_assignee(remind, kteo):
    gone = UserFactory(role=Role.REGULAR, is_active=True)
    vm = VirtualMachineFactory(owner=kteo)
    assign(vm, kteo, gone, timezone.now() + DAYS)
    gone.is_active = False
    gone.save()

    assert remind() == 0
    assert remind.outbox == []


def test_the_owner_is_not_told_twice_when_they_are_the_assignee(remind):
    admin = UserFactory(role=Role.ADMIN)
    sidekick = UserFactory(role=Role.SIDEKICK)
    vm = VirtualMachineFactory(owner=sidekick, shared=True)
    assign(vm, admin, sidekick, timezone.now() + DAYS)

    remind()

    assert [message.to for message in remind.outbox] == [[sidekick.email]]


def test_an_account_ending_soon_is_announced_to_its_user_once(remind, settings):
    settings.TIME_ZONE = "UTC"
    UserFactory(username="ada", access_expires_at=timezone.now() + DAYS)
    UserFactory(username="later", access_expires_at=timezone.now() + 30 * DAYS)
    UserFactory(username="already-gone", access_expires_at=timezone.now() - DAYS)

    assert remind() == 1
    assert remind() == 0

    [message] = remind.outbox
    assert message.to == ["ada@lab.example"]
    assert message.subject.startswith("[VM Lab] Your account's access ends ")


def test_a_reminder_another_worker_sent_is_not_sent_again(remind, ada):
    Reminder.objects.create(subject=f"account:{ada.pk}", ends_at=timezone.now() + DAYS)
    ada.access_expires_at = Reminder.objects.get().ends_at
    ada.save()

    assert remind() == 0
    assert remind.outbox == []
