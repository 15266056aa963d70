import re

import pytest
from django.contrib.auth import base_user
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse

from access.roles import Role
from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from audit.models import Action, AuditEvent
from people import services

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
GENERIC_ERROR = "Please enter a correct username and password"
DISABLED_ERROR = "This account is disabled. Ask a lab manager to enable it."
NEW_PASSWORD = "a brand new lab passphrase"


def log_in(client, username, password=DEFAULT_PASSWORD, **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password, **extra})


def is_logged_in(client):
    return "_auth_user_id" in client.session


# login


def test_login_page_links_to_registration_and_password_reset(client):
    response = client.get(LOGIN_URL)

    assert response.status_code == 200
    assert reverse("accounts:register") in response.text
    assert reverse("accounts:password_reset") in response.text


def test_user_logs_in_and_lands_on_the_dashboard(client):
    UserFactory(username="jlee")

    response = log_in(client, "jlee")

    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    assert is_logged_in(client)


def test_username_case_does_not_matter_when_logging_in(client):
    UserFactory(username="jlee")

    log_in(client, "JLee")

    assert is_logged_in(client)


def test_wrong_password_shows_the_generic_error(client):
    UserFactory(username="jlee")

    response = log_in(client, "jlee", "not the password")

    assert response.status_code == 200
    assert GENERIC_ERROR in response.text
    assert not is_logged_in(client)


def test_unknown_username_shows_the_generic_error(client):
    response = log_in(client, "nobody")

    assert GENERIC_ERROR in response.text
    assert DISABLED_ERROR not in response.text


def test_disabled_user_with_the_right_password_is_told_the_account_is_disabled(client):
    UserFactory(username="jlee", is_active=False)

    response = log_in(client, "JLEE")

    assert response.status_code == 200
    assert DISABLED_ERROR in response.text
    assert GENERIC_ERROR not in response.text
    assert not is_logged_in(client)


def test_disabled_user_with_a_wrong_password_sees_only_the_generic_error(client):
    UserFactory(username="jlee", is_active=False)

    response = log_in(client, "jlee", "not the password")

    assert GENERIC_ERROR in response.text
    assert DISABLED_ERROR not in response.text
    assert not is_logged_in(client)


@pytest.fixture
def password_hashes(monkeypatch):
    """How many times a password is hashed: once per check, whether the user exists or not."""
    calls = []
    real_make_password, real_check_password = base_user.make_password, base_user.check_password
    monkeypatch.setattr(base_user, "make_password", lambda *a, **k: calls.append("make") or real_make_password(*a, **k))
    monkeypatch.setattr(
        base_user, "check_password", lambda *a, **k: calls.append("check") or real_check_password(*a, **k)
    )
    return calls


@pytest.mark.parametrize("who", ["unknown", "active", "disabled"])
def test_a_failed_login_costs_one_password_hash_whoever_the_username_belongs_to(client, password_hashes, who):
    if who != "unknown":
        UserFactory(username="jlee", is_active=who == "active")
    password_hashes.clear()

    log_in(client, "jlee", "not the password")

    assert len(password_hashes) == 1


def test_a_disabled_user_is_logged_out_of_an_open_session(client):
    user = UserFactory(username="jlee")
    client.force_login(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response.url.startswith(LOGIN_URL)


def test_a_session_opened_before_a_disable_stays_closed_after_the_user_is_enabled_again(client):
    manager = UserFactory(role=Role.MANAGER)
    user = UserFactory(username="jlee")
    client.force_login(user)

    services.user_disable(user=user, actor=manager)
    services.user_enable(user=user, actor=manager)
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response.url.startswith(LOGIN_URL)


def test_a_session_survives_a_secret_key_rotation_until_the_user_is_disabled(client, settings):
    old_key = settings.SECRET_KEY
    manager, user = UserFactory(role=Role.MANAGER), UserFactory(username="jlee", role=Role.SIDEKICK)
    client.force_login(user)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-secret-key-" + "x" * 40, [old_key]

    assert client.get(reverse("dashboard")).status_code == 200  # signed with the old key, still valid

    services.user_disable(user=user, actor=manager)
    services.user_enable(user=user, actor=manager)
    response = client.get(reverse("dashboard"))
    assert (response.status_code, response.url.startswith(LOGIN_URL)) == (302, True)


def test_disabling_someone_leaves_the_other_users_sessions_open(client):
    manager = UserFactory(role=Role.MANAGER)
    client.force_login(manager)

    services.user_disable(user=UserFactory(), actor=manager)

    assert client.get(reverse("dashboard")).status_code == 200


def test_a_disabled_user_gets_no_usable_session_even_through_authenticate(client):
    # LoginBackend authenticates disabled users so that the login form can say "disabled";
    # whatever a caller then does with them, get_user() keeps the session empty.
    UserFactory(username="jlee", is_active=False)
    # The lockout backend needs the request, as every real login has one.
    client.login(request=RequestFactory().post(LOGIN_URL), username="jlee", password=DEFAULT_PASSWORD)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response.url.startswith(LOGIN_URL)


def test_a_disabled_admin_cannot_log_in_to_the_django_admin(client):
    UserFactory(username="root", role=Role.ADMIN, is_active=False)

    response = client.post(reverse("admin:login"), {"username": "root", "password": DEFAULT_PASSWORD})

    assert response.status_code == 200
    assert "This account is inactive." in response.text
    assert not is_logged_in(client)


def test_logging_out_says_so_on_the_login_page(client):
    client.force_login(UserFactory(username="jlee"))

    response = client.post(reverse("accounts:logout"), follow=True)

    assert not is_logged_in(client)
    assert "You have been logged out." in response.text


def test_login_follows_a_next_url_on_this_site(client):
    UserFactory(username="jlee")

    response = log_in(client, "jlee", next="/accounts/profile/")

    assert response.url == "/accounts/profile/"


def test_login_ignores_a_next_url_to_another_site(client):
    UserFactory(username="jlee")

    response = log_in(client, "jlee", next="https://evil.example/steal")

    assert response.url == reverse("dashboard")


def test_logged_in_user_opening_the_login_page_goes_to_the_dashboard(client):
    client.force_login(UserFactory())

    response = client.get(LOGIN_URL)

    assert response.status_code == 302
    assert response.url == reverse("dashboard")


def test_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(reverse("accounts:profile"))

    assert response.status_code == 302
    assert response.url.startswith(LOGIN_URL)


# logout


def test_logout_by_post_ends_the_session(client):
    client.force_login(UserFactory())

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response.url == LOGIN_URL
    assert not is_logged_in(client)


def test_logout_by_get_is_refused(client):
    client.force_login(UserFactory())

    response = client.get(reverse("accounts:logout"))

    assert response.status_code == 405
    assert is_logged_in(client)


def test_new_user_can_log_out(client):
    client.force_login(UserFactory(role=Role.NEW_USER))

    client.post(reverse("accounts:logout"))

    assert not is_logged_in(client)


# registration


def registration_data(**overrides):
    return {
        "username": "newbie",
        "email": "newbie@lab.example",
        "first_name": "New",
        "last_name": "Comer",
        "password1": "a long enough lab passphrase",
        "password2": "a long enough lab passphrase",
        **overrides,
    }


def test_registration_creates_a_new_user_logs_them_in_and_shows_the_waiting_page(client):
    response = client.post(reverse("accounts:register"), registration_data(), follow=True)

    user = User.objects.get(username="newbie")
    assert (user.role, user.email, user.get_full_name()) == (Role.NEW_USER, "newbie@lab.example", "New Comer")
    assert user.check_password("a long enough lab passphrase")
    assert response.redirect_chain[-1][0] == reverse("accounts:waiting")
    assert "Your account is waiting for approval" in response.text
    assert is_logged_in(client)


def test_registration_is_recorded_in_the_audit_trail(client):
    client.post(reverse("accounts:register"), registration_data())

    event = AuditEvent.objects.get(action=Action.USER_REGISTER)
    assert (event.actor_label, event.target_label) == ("newbie", "newbie")


@pytest.mark.parametrize("username", ["jlee", "JLee"])
def test_registration_with_a_taken_username_in_any_case_is_refused(client, username):
    UserFactory(username="jlee")

    response = client.post(reverse("accounts:register"), registration_data(username=username))

    assert response.status_code == 200
    assert "This username is already taken." in response.text
    assert User.objects.count() == 1


@pytest.mark.parametrize("email", ["jlee@lab.example", "JLee@Lab.Example"])
def test_registration_with_a_taken_email_in_any_case_is_refused(client, email):
    UserFactory(username="jlee", email="jlee@lab.example")

    response = client.post(reverse("accounts:register"), registration_data(email=email))

    assert "An account with this e-mail address already exists." in response.text
    assert not User.objects.filter(username="newbie").exists()


def test_registration_requires_an_email(client):
    response = client.post(reverse("accounts:register"), registration_data(email=""))

    assert response.status_code == 200
    assert not User.objects.filter(username="newbie").exists()


def test_registration_applies_the_password_validators(client):
    response = client.post(reverse("accounts:register"), registration_data(password1="12345678", password2="12345678"))

    assert "This password is too common." in response.text
    assert not User.objects.filter(username="newbie").exists()


def test_registration_with_mismatched_passwords_is_refused(client):
    response = client.post(reverse("accounts:register"), registration_data(password2="something else entirely"))

    assert "The two password fields didn\u2019t match." in response.text
    assert not User.objects.filter(username="newbie").exists()


def test_logged_in_user_opening_registration_goes_to_the_dashboard(client):
    client.force_login(UserFactory())

    response = client.get(reverse("accounts:register"))

    assert response.status_code == 302
    assert response.url == reverse("dashboard")


# waiting page


def test_new_user_is_sent_to_the_waiting_page_from_any_other_page(client):
    client.force_login(UserFactory(role=Role.NEW_USER))

    response = client.get(reverse("accounts:profile"))

    assert response.status_code == 302
    assert response.url == reverse("accounts:waiting")


def test_new_user_sees_the_waiting_page(client):
    client.force_login(UserFactory(role=Role.NEW_USER))

    response = client.get(reverse("accounts:waiting"))

    assert response.status_code == 200
    assert "Your account is waiting for approval" in response.text


def test_approved_user_opening_the_waiting_page_goes_to_the_dashboard(client):
    client.force_login(UserFactory(role=Role.REGULAR))

    response = client.get(reverse("accounts:waiting"))

    assert response.status_code == 302
    assert response.url == reverse("dashboard")


# password reset


def reset_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


def test_password_reset_mails_a_link_that_sets_a_new_password(client):
    user = UserFactory(username="jlee", email="jlee@lab.example")

    response = client.post(reverse("accounts:password_reset"), {"email": "JLEE@lab.example"})

    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["jlee@lab.example"]
    form_page = client.get(reset_link(mail.outbox[0]), follow=True)
    assert "Choose a new password" in form_page.text
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.url == reverse("accounts:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action=Action.PASSWORD_CHANGE)
    assert (event.target_id, event.details) == (str(user.pk), {"how": "reset"})


def test_password_reset_for_an_unknown_email_shows_the_same_page_and_sends_nothing(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@lab.example"}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("accounts:password_reset_done")
    assert "Check your e-mail" in response.text
    assert mail.outbox == []


def test_password_reset_link_works_only_once(client):
    UserFactory(email="jlee@lab.example")
    client.post(reverse("accounts:password_reset"), {"email": "jlee@lab.example"})
    link = reset_link(mail.outbox[0])
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    response = client.get(link, follow=True)

    assert "This link does not work" in response.text


def test_disabled_user_gets_no_password_reset_mail(client):
    UserFactory(email="jlee@lab.example", is_active=False)

    client.post(reverse("accounts:password_reset"), {"email": "jlee@lab.example"})

    assert mail.outbox == []


# password change


def test_password_change_sets_the_new_password_and_keeps_the_session(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": DEFAULT_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.url == reverse("accounts:password_change_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.get(reverse("accounts:password_change_done")).status_code == 200
    event = AuditEvent.objects.get(action=Action.PASSWORD_CHANGE)
    assert (event.actor, event.target_id, event.details) == (user, str(user.pk), {"how": "change"})


def test_password_change_with_a_wrong_old_password_is_refused(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly." in response.text
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize("url", [LOGIN_URL, reverse("admin:login")])
@pytest.mark.parametrize("password", ["wrong-password", ""])
def test_after_a_failed_login_the_username_box_is_empty(client, url, password):
    # People sometimes type their password into the username box: it must not come back in the page.
    UserFactory(username="jlee", role=Role.ADMIN)

    response = client.post(url, {"username": "jlee", "password": password})

    assert response.status_code == 200
    assert 'name="username"' in response.text
    assert 'value="jlee"' not in response.text
