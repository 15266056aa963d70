import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:audit_auditevent_changelist")


@pytest.fixture
def disable_event(admin):
    return audit_record(action=Action.USER_DISABLE, actor=admin, target=UserFactory(username="kteo"))


def change_url(event):
    return reverse("admin:audit_auditevent_change", args=[event.pk])


def test_changelist_answers_200_with_every_filter_applied(admin_client, disable_event):
    response = admin_client.get(
        CHANGELIST_URL,
        {
            "action__exact": Action.USER_DISABLE,
            "target_type__exact": "accounts.user",
            "created_at__gte": "2000-01-01 00:00:00+00:00",
            "q": "kteo",
        },
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [disable_event]


def test_changelist_filters_leave_out_other_events(admin_client, disable_event):
    response = admin_client.get(CHANGELIST_URL, {"action__exact": Action.VM_DELETE})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_the_detail_page_shows_the_event_read_only(admin_client, disable_event):
    response = admin_client.get(change_url(disable_event))

    assert response.status_code == 200
    assert "kteo" in response.text
    assert "User disabled" in response.text
    assert 'name="_save"' not in response.text
    assert 'name="_continue"' not in response.text
    assert reverse("admin:audit_auditevent_delete", args=[disable_event.pk]) not in response.text


def test_there_is_no_add_page(admin_client):
    assert admin_client.get(reverse("admin:audit_auditevent_add")).status_code == 403


def test_posting_a_change_is_refused(admin_client, disable_event):
    response = admin_client.post(change_url(disable_event), {"actor_label": "someone-else", "action": Action.LOGIN})

    assert response.status_code == 403
    assert AuditEvent.objects.get(pk=disable_event.pk).actor_label == "root-admin"


def test_deleting_is_refused_on_the_page_and_as_a_bulk_action(admin_client, disable_event):
    delete_page = admin_client.post(reverse("admin:audit_auditevent_delete", args=[disable_event.pk]), {"post": "yes"})
    bulk = admin_client.post(
        CHANGELIST_URL, {"action": "delete_selected", "_selected_action": [disable_event.pk], "post": "yes"}
    )

    assert delete_page.status_code == 403
    assert bulk.status_code in (200, 302)  # "No action selected": the action is not offered at all
    assert AuditEvent.objects.filter(pk=disable_event.pk).exists()
