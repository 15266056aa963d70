from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from audit.services import audit_record
from audit.views import PER_PAGE
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

URL = reverse("audit:event_list")


@pytest.fixture
def admin_client(admin_client):
    AuditEvent.objects.all().delete()  # logging in is an event too: start from an empty trail
    return admin_client


def event(*, when=None, **fields):
    fields.setdefault("action", Action.VM_UPDATE)
    row = AuditEvent.objects.create(**fields)
    if when is not None:
        AuditEvent.objects.filter(pk=row.pk).update(created_at=when)
    return row


def shown_labels(response):
    return [row["event"].target_label for row in response.context["rows"]]


@pytest.mark.parametrize("role", [Role.NEW_USER, Role.REGULAR, Role.SIDEKICK, Role.MANAGER])
def test_the_audit_page_is_404_for_everyone_but_admins(client, role):
    client.force_login(UserFactory(role=role))

    response = client.get(URL)

    expected = 302 if role == Role.NEW_USER else 404  # newcomers go to the waiting page first
    assert response.status_code == expected


def test_an_admin_sees_the_events_newest_first(admin_client):
    event(target_label="older", when=timezone.now() - timedelta(days=1))
    event(target_label="newer")

    response = admin_client.get(URL)

    assert response.status_code == 200
    assert shown_labels(response) == ["newer", "older"]


def test_the_nav_bar_links_to_the_audit_page_for_admins_only(client, admin):
    client.force_login(UserFactory(role=Role.MANAGER))
    assert URL not in client.get(reverse("dashboard")).text

    client.force_login(admin)
    assert f'href="{URL}"' in client.get(reverse("dashboard")).text


def test_the_list_shows_fifty_events_per_page(admin_client):
    AuditEvent.objects.bulk_create(AuditEvent(action=Action.LOGIN, target_label=f"e{n}") for n in range(PER_PAGE + 1))

    first = admin_client.get(URL)
    second = admin_client.get(URL, {"page": 2})

    assert len(first.context["rows"]) == 50
    assert len(second.context["rows"]) == 1


def test_a_row_shows_who_what_target_ip_browser_and_details(admin_client, admin):
    vm = VirtualMachineFactory(name="build-box", owner=admin)
    event(
        action=Action.VM_SHARE,
        actor=admin,
        actor_label=admin.username,
        target_type="machines.virtualmachine",
        target_id=str(vm.pk),
        target_label=vm.name,
        ip="192.0.2.7",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0 VeryLongTail",
        details={"shared": True, "fields": ["host", "port"], "assigned_to": None},
    )

    text = admin_client.get(URL).text

    assert "root-admin" in text
    assert "VM sharing changed" in text
    assert f'<a href="{reverse("machines:detail", args=[vm.pk])}">build-box</a>' in text
    assert "Virtual machine" in text
    assert "192.0.2.7" in text
    assert 'title="Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0 VeryLongTail"' in text
    assert "VeryLongTail</span>" not in text  # shortened in the cell
    assert "<code>assigned_to: —</code> <code>fields: host, port</code> <code>shared: yes</code>" in text


def test_a_deleted_actor_keeps_their_name_with_a_note(admin_client):
    event(actor=None, actor_label="gone-user", target_label="deleted-actor-row")
    event(actor=None, actor_label="", target_label="anonymous-row", action=Action.LOGIN_FAILED)

    response = admin_client.get(URL)

    rows = {row["event"].target_label: row for row in response.context["rows"]}
    assert rows["deleted-actor-row"]["actor_deleted"] is True
    assert rows["anonymous-row"]["actor_deleted"] is False
    assert 'gone-user <span class="badge">account deleted</span>' in response.text


def test_a_target_that_no_longer_exists_is_not_linked(admin_client, admin):
    vm = VirtualMachineFactory(name="short-lived", owner=admin)
    vm_id = vm.pk
    audit_record(action=Action.VM_DELETE, actor=admin, target=vm)
    vm.delete()

    text = admin_client.get(URL).text

    assert "short-lived" in text
    assert reverse("machines:detail", args=[vm_id]) not in text


def test_a_target_the_admin_may_not_open_is_not_linked(admin_client):
    private = VirtualMachineFactory(name="someone-private", shared=False)
    audit_record(action=Action.VM_CREATE, actor=private.owner, target=private)

    text = admin_client.get(URL).text

    assert "someone-private" in text
    assert reverse("machines:detail", args=[private.pk]) not in text


def test_a_user_target_links_to_the_user_page(admin_client):
    person = UserFactory(username="kteo")
    audit_record(action=Action.USER_ENABLE, target=person)

    text = admin_client.get(URL).text

    assert f'<a href="{reverse("people:user_detail", args=[person.pk])}">kteo</a>' in text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"action": Action.LOGIN_FAILED}, ["failed"]),
        ({"actor": "GARC"}, ["by-mgarcia"]),
        ({"target_type": "machines.virtualmachine"}, ["vm-7"]),
        ({"target_id": "7"}, ["vm-7"]),
        ({"q": "198.51"}, ["failed"]),
        ({"q": "vm-7"}, ["vm-7"]),
        ({"q": "mgarcia"}, ["by-mgarcia"]),
    ],
)
def test_filters_narrow_the_list(admin_client, params, expected):
    event(action=Action.LOGIN_FAILED, target_label="failed", ip="198.51.100.4")
    event(actor_label="mgarcia", target_label="by-mgarcia", target_type="accounts.user", target_id="3")
    event(target_type="machines.virtualmachine", target_id="7", target_label="vm-7")

    response = admin_client.get(URL, params)

    assert response.status_code == 200
    assert shown_labels(response) == expected


def test_the_target_type_select_offers_the_types_present(admin_client):
    event(target_type="machines.virtualmachine", target_id="7")

    choices = dict(admin_client.get(URL).context["filters"].fields["target_type"].choices)

    assert choices == {"": "All types", "machines.virtualmachine": "Virtual machine"}


def test_the_date_range_includes_whole_days_in_the_time_zone(admin_client, settings):
    settings.TIME_ZONE = "Europe/Paris"
    paris = timezone.get_fixed_timezone(120)  # summer time, as on these days
    event(target_label="day-before-late", when=datetime(2024, 6, 9, 23, 59, tzinfo=paris))
    event(target_label="first-day-early", when=datetime(2024, 6, 10, 0, 1, tzinfo=paris))
    event(target_label="last-day-late", when=datetime(2024, 6, 11, 23, 59, tzinfo=paris))
    event(target_label="day-after-early", when=datetime(2024, 6, 12, 0, 1, tzinfo=paris))

    response = admin_client.get(URL, {"date_from": "2024-06-10", "date_to": "2024-06-11"})

    assert shown_labels(response) == ["last-day-late", "first-day-early"]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"date_from": "yesterday"}, "Enter a valid date."),
        ({"date_to": "2024-02-30"}, "Enter a valid date."),
        ({"date_to": "9999-12-31"}, "Ensure this value is less than or equal to 9000-12-31."),
        ({"action": "vm.explode"}, "Select a valid choice. vm.explode is not one of the available choices."),
        ({"target_type": "nothing.here"}, "Select a valid choice."),
        ({"date_from": "2024-06-11", "date_to": "2024-06-10"}, "“From” must not be after “To”."),
    ],
)
def test_bad_filters_give_a_form_error_and_no_list(admin_client, params, error):
    event(target_label="hidden-while-invalid")

    response = admin_client.get(URL, params)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert "hidden-while-invalid" not in response.text
    assert "Correct the filters above" in response.text


def test_the_page_costs_the_same_number_of_queries_for_n_and_2n_events(admin_client, admin):
    def add_events(count):
        for _ in range(count):
            vm = VirtualMachineFactory(owner=admin)
            audit_record(action=Action.VM_CREATE, actor=admin, target=vm, details={"host": vm.host})
            audit_record(action=Action.USER_ENABLE, actor=admin, target=UserFactory())

    def queries():
        with CaptureQueriesContext(connection) as context:
            assert admin_client.get(URL).status_code == 200
        return len(context.captured_queries)

    add_events(5)
    with_n = queries()
    add_events(5)

    assert queries() == with_n
