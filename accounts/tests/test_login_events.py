"""Logins, failures and logouts reach the audit trail through the real login pages (accounts.signals)."""

import pytest
from django.urls import reverse

from access.roles import Role
from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from audit.models import Action, AuditEvent
from people import services

pytestmark = pytest.mark.django_db

PORTAL_LOGIN = reverse("accounts:login")
ADMIN_LOGIN = "/admin/login/"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AuditTest/1.0"
LOGIN_PAGES = [PORTAL_LOGIN, ADMIN_LOGIN]


def log_in(client, url, username, password):
    return client.post(url, {"username": username, "password": password}, HTTP_USER_AGENT=BROWSER)


def only_event(action):
    events = list(AuditEvent.objects.filter(action=action))
    assert len(events) == 1, events
    return events[0]


def all_columns(event) -> str:
    return " ".join(str(getattr(event, field.attname)) for field in AuditEvent._meta.concrete_fields)


@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_a_successful_login_is_one_login_event_with_who_and_from_where(client, url):
    user = UserFactory(username="jsmith", role=Role.ADMIN)

    response = log_in(client, url, "jsmith", DEFAULT_PASSWORD)

    assert response.status_code == 302
    event = only_event(Action.LOGIN)
    assert (event.actor, event.actor_label, event.target_id) == (user, "jsmith", str(user.pk))
    assert (event.ip, event.user_agent) == ("127.0.0.1", BROWSER)
    assert event.details == {"path": url, "how": "local", "second_factor": "none"}
    assert not AuditEvent.objects.filter(action=Action.LOGIN_FAILED).exists()


@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_a_wrong_password_is_a_failed_login_that_names_the_account(client, url):
    user = UserFactory(username="jsmith", role=Role.ADMIN)

    response = log_in(client, url, "JSmith", "not-the-password")

    assert response.status_code == 200
    event = only_event(Action.LOGIN_FAILED)
    assert event.actor is None
    assert (event.target_type, event.target_id, event.target_label) == ("accounts.user", str(user.pk), "jsmith")
    assert (event.ip, event.user_agent) == ("127.0.0.1", BROWSER)
    assert "unknown_username" not in event.details
    assert "not-the-password" not in all_columns(event)
    assert not AuditEvent.objects.filter(action=Action.LOGIN).exists()


@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_an_unknown_username_is_a_failed_login_that_keeps_nothing_of_what_was_typed(client, url):
    typed = "Typed-Into-Username-7f3a"

    log_in(client, url, typed, "whatever-password-9c1e")

    event = only_event(Action.LOGIN_FAILED)
    assert (event.actor, event.actor_label) == (None, "")
    assert (event.target_type, event.target_id, event.target_label) == ("", "", "")
    assert event.details == {"path": url, "unknown_username": True}
    assert typed.lower() not in all_columns(event).lower()
    assert "whatever-password-9c1e" not in all_columns(event)


def test_logging_out_by_post_is_a_logout_event(client):
    user = UserFactory(username="jsmith")
    log_in(client, PORTAL_LOGIN, "jsmith", DEFAULT_PASSWORD)

    response = client.post(reverse("accounts:logout"), HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 302
    event = only_event(Action.LOGOUT)
    assert (event.actor, event.target_id, event.ip, event.user_agent) == (user, str(user.pk), "127.0.0.1", BROWSER)


def test_registering_is_a_register_event_and_a_login_event(client):
    client.post(
        reverse("accounts:register"),
        {
            "username": "newcomer",
            "email": "newcomer@lab.example",
            "first_name": "New",
            "last_name": "Comer",
            "password1": "Unusual-Register-Pass-5521",
            "password2": "Unusual-Register-Pass-5521",
        },
        HTTP_USER_AGENT=BROWSER,
    )

    user = User.objects.get(username="newcomer")
    register = only_event(Action.USER_REGISTER)
    assert (register.actor, register.target_id, register.ip) == (user, str(user.pk), "127.0.0.1")
    assert only_event(Action.LOGIN).actor == user


def test_events_keep_the_names_after_the_account_is_deleted(client, admin):
    user = UserFactory(username="leaving")
    user_id = str(user.pk)
    log_in(client, PORTAL_LOGIN, "leaving", "wrong-password")
    log_in(client, PORTAL_LOGIN, "leaving", DEFAULT_PASSWORD)
    services.user_disable(user=user, actor=admin)

    services.user_delete(user=user, actor=admin)

    login = only_event(Action.LOGIN)
    assert (login.actor_id, login.actor_label) == (None, "leaving")
    assert (login.target_id, login.target_label) == (user_id, "leaving")
    assert only_event(Action.LOGIN_FAILED).target_label == "leaving"
    deleted = only_event(Action.USER_DELETE)
    assert (deleted.actor, deleted.target_id, deleted.target_label) == (admin, user_id, "leaving")
