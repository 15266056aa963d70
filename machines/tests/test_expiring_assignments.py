"""Assignments with an end: from that moment the VM is no longer the assignee's, on every page, whether or not the
hourly job has closed the assignment; who had which VM, from when to when, stays in its history."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from machines import services
from machines.models import Assignment, VirtualMachine
from machines.tests.expiry import assign_ended, assign_ending_soon, wait_past
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

DAYS = datetime.timedelta(days=1)


@pytest.fixture
def manager():
    return UserFactory(role=Role.MANAGER, username="kteo")


@pytest.fixture
def student():
    return UserFactory(role=Role.REGULAR, username="ada")


@pytest.fixture
def vm(manager):
    return VirtualMachineFactory(owner=manager, name="thesis-gpu")


def events(vm, action):
    return [e.details for e in AuditEvent.objects.filter(action=action, target_id=str(vm.pk)).order_by("pk")]


# Where access is decided: every verb of the queryset


def test_an_ended_assignment_gives_nothing_to_the_former_assignee(vm, manager, student):
    assign_ended(vm, actor=manager, assignee=student)

    assert not VirtualMachine.objects.visible_to(student).exists()
    assert not VirtualMachine.objects.assigned_to_user(student).exists()
    assert not VirtualMachine.objects.currently_assigned().exists()
    assert VirtualMachine.objects.get(pk=vm.pk).assigned_to == student  # not yet closed by the hourly job


def test_a_running_assignment_counts_until_its_end(vm, manager, student):
    services.vm_assign(vm=vm, actor=manager, assignee=student, until=timezone.now() + 3 * DAYS)

    assert list(VirtualMachine.objects.visible_to(student)) == [vm]
    assert list(VirtualMachine.objects.assigned_to_user(student)) == [vm]


def test_the_vm_leaves_the_assignee_the_moment_the_assignment_ends(client, vm, manager, student):
    until = assign_ending_soon(vm, actor=manager, assignee=student, seconds=3)
    client.force_login(student)
    assert client.get(reverse("machines:detail", args=[vm.pk])).status_code == 200
    assert "thesis-gpu" in client.get(reverse("dashboard")).text

    wait_past(until)

    assert client.get(reverse("machines:detail", args=[vm.pk])).status_code == 404
    assert "thesis-gpu" not in client.get(reverse("dashboard")).text


# Every page of the former assignee


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("machines:detail", "get"),
        ("machines:ssh_config", "get"),
        ("machines:reveal", "get"),
        ("machines:reveal", "post"),
        ("connect:terminal", "get"),
        ("connect:files", "get"),
        ("connect:file_download", "get"),
        ("connect:file_upload", "post"),
        ("connect:test_connection", "post"),
        ("connect:status", "get"),
        ("connect:check_status", "post"),
    ],
)
def test_every_page_of_a_vm_whose_assignment_ended_is_404(client, vm, manager, student, name, method):
    assign_ended(vm, actor=manager, assignee=student)
    client.force_login(student)

    response = getattr(client, method)(reverse(name, args=[vm.pk]), {"path": "/etc/hostname"})

    assert response.status_code == 404


def test_the_dashboard_no_longer_lists_the_vm(client, vm, manager, student):
    assign_ended(vm, actor=manager, assignee=student)
    client.force_login(student)

    response = client.get(reverse("dashboard"))

    assert "thesis-gpu" not in response.text
    assert "No VM is assigned to you." in response.text


def test_the_owner_no_longer_sees_it_among_assigned_vms(client, vm, manager, student):
    assign_ended(vm, actor=manager, assignee=student)
    client.force_login(manager)

    sections = client.get(reverse("dashboard")).context["sections"]
    shown = {section.key: [row.pk for row in section.page.object_list] for section in sections}

    assert shown["assigned"] == []
    assert shown["mine"] == [vm.pk]


def test_the_user_page_lists_only_running_assignments(client, vm, manager, student):
    running = VirtualMachineFactory(owner=manager, name="course-box")
    services.vm_assign(vm=running, actor=manager, assignee=student, until=timezone.now() + 3 * DAYS)
    assign_ended(vm, actor=manager, assignee=student)
    client.force_login(manager)

    response = client.get(reverse("people:user_detail", args=[student.pk]))

    assert [v.name for v in response.context["assigned_vms"].object_list] == ["course-box"]
    assert response.context["hidden_assigned_count"] == 0


# What people read


def test_the_assignee_reads_when_their_access_ends(client, vm, manager, student, settings):
    settings.TIME_ZONE = "UTC"
    until = timezone.now() + 3 * DAYS + datetime.timedelta(minutes=5)
    services.vm_assign(vm=vm, actor=manager, assignee=student, until=until)
    client.force_login(student)

    page = client.get(reverse("machines:detail", args=[vm.pk])).text

    assert f"Your access to this VM ends <strong>{until:%-d %B %Y, %H:%M} (in 3\xa0days)</strong>" in page
    assert reverse("access_requests:extend", args=[vm.pk]) in page
    assert "until " in client.get(reverse("dashboard")).text


def test_the_end_is_shown_in_the_users_own_time_zone(client, vm, manager, student):
    until = datetime.datetime(2099, 3, 12, 17, 0, tzinfo=datetime.UTC)
    services.vm_assign(vm=vm, actor=manager, assignee=student, until=until)
    student.time_zone = "Asia/Tokyo"
    student.save()
    client.force_login(student)

    page = client.get(reverse("machines:detail", args=[vm.pk])).text

    assert "13 March 2099, 02:00" in page  # 17:00 UTC is 02:00 the next day in Tokyo


# The history


def test_every_assignment_stays_in_the_history(vm, manager, student):
    other = UserFactory(role=Role.SIDEKICK, username="grace")
    assign_ended(vm, actor=manager, assignee=student)
    services.vm_assign(vm=vm, actor=manager, assignee=other, until=timezone.now() + 5 * DAYS)
    services.vm_assign(vm=vm, actor=manager, assignee=None)

    rows = list(Assignment.objects.filter(vm=vm).order_by("started_at").values_list("user__username", "end"))

    assert rows == [("ada", Assignment.End.EXPIRED), ("grace", Assignment.End.UNASSIGNED)]
    assert not Assignment.objects.filter(ended_at__isnull=True).exists()


def test_giving_the_vm_to_someone_else_closes_the_running_assignment(vm, manager, student):
    other = UserFactory(role=Role.REGULAR)
    services.vm_assign(vm=vm, actor=manager, assignee=student, until=timezone.now() + 5 * DAYS)

    services.vm_assign(vm=vm, actor=manager, assignee=other)

    first, second = Assignment.objects.filter(vm=vm).order_by("started_at", "pk")
    assert (first.user, first.end, first.ended_at is not None) == (student, Assignment.End.REPLACED, True)
    assert (second.user, second.until, second.ended_at, second.assigned_by) == (other, None, None, manager)


def test_a_later_end_extends_the_running_assignment(vm, manager, student):
    first_end = timezone.now() + 2 * DAYS
    services.vm_assign(vm=vm, actor=manager, assignee=student, until=first_end)
    later = first_end + 7 * DAYS

    services.vm_assignment_extend(vm=vm, actor=manager, until=later)

    [row] = Assignment.objects.filter(vm=vm)
    assert (row.until, row.ended_at) == (later, None)
    assert VirtualMachine.objects.get(pk=vm.pk).assigned_until == later
    [change] = events(vm, Action.VM_ASSIGNMENT_CHANGE)
    assert change == {"assigned_to": "ada", "until": later.isoformat(), "previous_until": first_end.isoformat()}


def test_assigning_again_after_the_end_starts_a_new_assignment(vm, manager, student):
    ended = assign_ended(vm, actor=manager, assignee=student)

    services.vm_assign(vm=vm, actor=manager, assignee=student, until=timezone.now() + DAYS)

    old, new = Assignment.objects.filter(vm=vm).order_by("started_at")
    assert (old.end, old.ended_at) == (Assignment.End.EXPIRED, ended)
    assert new.ended_at is None
    assert [e["assigned_to"] for e in events(vm, Action.VM_ASSIGN)] == ["ada", "ada"]


def test_more_time_cannot_revive_an_ended_assignment(vm, manager, student):
    assign_ended(vm, actor=manager, assignee=student)

    with pytest.raises(ValidationError, match="not assigned to anyone any more"):
        services.vm_assignment_extend(vm=vm, actor=manager, until=timezone.now() + DAYS)


def test_the_hourly_job_closes_ended_assignments_and_keeps_them(vm, manager, student):
    ended = assign_ended(vm, actor=manager, assignee=student)
    running = VirtualMachineFactory(owner=manager)
    services.vm_assign(vm=running, actor=manager, assignee=student, until=timezone.now() + DAYS)

    assert services.vm_assignments_close_expired() == 1
    assert services.vm_assignments_close_expired() == 0

    closed = VirtualMachine.objects.get(pk=vm.pk)
    assert (closed.assigned_to, closed.assigned_until) == (None, None)
    [row] = Assignment.objects.filter(vm=vm)
    assert (row.user, row.ended_at, row.end) == (student, ended, Assignment.End.EXPIRED)
    [event] = AuditEvent.objects.filter(action=Action.VM_ASSIGNMENT_END)
    assert (event.actor_label, event.details["assigned_to"]) == ("scheduled job", "ada")
    assert VirtualMachine.objects.get(pk=running.pk).assigned_to == student


def test_the_owner_sees_the_history_and_the_assignee_does_not(client, vm, manager, student):
    assign_ended(vm, actor=manager, assignee=student)
    services.vm_assign(vm=vm, actor=manager, assignee=student, until=timezone.now() + DAYS)

    client.force_login(manager)
    owner_page = client.get(reverse("machines:detail", args=[vm.pk]))
    client.force_login(student)
    assignee_page = client.get(reverse("machines:detail", args=[vm.pk]))

    assert len(owner_page.context["history"]) == 2
    assert "Assignment history" in owner_page.text
    assert "ended on its date" in owner_page.text
    assert "Assignment history" not in assignee_page.text


# Assigning with an end


def test_the_assign_page_sets_an_end(client, vm, manager, student, settings):
    settings.TIME_ZONE = "Europe/Paris"
    client.force_login(manager)

    response = client.post(
        reverse("machines:assign", args=[vm.pk]),
        {"assigned_to": student.pk, "assigned_until": "2099-03-12T18:00"},
        follow=True,
    )

    stored = VirtualMachine.objects.get(pk=vm.pk)
    assert stored.assigned_until == datetime.datetime(2099, 3, 12, 17, 0, tzinfo=datetime.UTC)
    assert "VM “thesis-gpu” is now assigned to ada until 12 March 2099, 18:00." in response.text
    assert events(vm, Action.VM_ASSIGN) == [{"assigned_to": "ada", "until": "2099-03-12T17:00:00+00:00"}]


def test_a_date_alone_means_the_end_of_that_day(client, vm, manager, student, settings):
    settings.TIME_ZONE = "UTC"
    client.force_login(manager)

    client.post(reverse("machines:assign", args=[vm.pk]), {"assigned_to": student.pk, "assigned_until": "2099-03-12"})

    assert f"{VirtualMachine.objects.get(pk=vm.pk).assigned_until:%Y-%m-%d %H:%M}" == "2099-03-12 23:59"


@pytest.mark.parametrize(
    ("until", "assignee", "message"),
    [
        ("2001-01-01T10:00", True, "The end of the assignment must be in the future."),
        ("12/03/2099", True, "Enter a date (YYYY-MM-DD), or a date and time (YYYY-MM-DD HH:MM)."),
        ("2099-03-12T18:00", False, "Choose someone to assign the VM to, or no end."),
    ],
)
def test_a_wrong_end_is_refused_with_a_message(client, vm, manager, student, until, assignee, message):
    client.force_login(manager)

    response = client.post(
        reverse("machines:assign", args=[vm.pk]),
        {"assigned_to": student.pk if assignee else "", "assigned_until": until},
    )

    assert response.status_code == 200
    assert message in response.text
    assert VirtualMachine.objects.get(pk=vm.pk).assigned_to is None
    assert not Assignment.objects.exists()


def test_the_assign_page_offers_nobody_once_the_assignment_ended(client, vm, manager, student):
    assign_ended(vm, actor=manager, assignee=student)
    client.force_login(manager)

    response = client.get(reverse("machines:assign", args=[vm.pk]))

    assert f'<option value="{student.pk}" selected>' not in response.text
    assert "Currently assigned to: <strong>nobody</strong>" in response.text
