import pytest
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db

PROFILE_URL = reverse("accounts:profile")


@pytest.fixture
def member(client):
    user = UserFactory(username="jlee", email="jlee@lab.example", first_name="Jo", last_name="Lee")
    client.force_login(user)
    return user


def profile_data(**overrides):
    return {"username": "jlee", "email": "jlee@lab.example", "first_name": "Jo", "last_name": "Lee", **overrides}


def test_profile_page_shows_the_users_details(client, member):
    response = client.get(PROFILE_URL)

    assert response.status_code == 200
    assert 'value="jlee@lab.example"' in response.text
    assert reverse("accounts:password_change") in response.text


def test_saving_the_profile_changes_the_account_and_says_so(client, member):
    response = client.post(
        PROFILE_URL,
        profile_data(username="jolee", email="jo@lab.example", first_name="Joanna", current_password=DEFAULT_PASSWORD),
        follow=True,
    )

    member.refresh_from_db()
    assert (member.username, member.email, member.first_name) == ("jolee", "jo@lab.example", "Joanna")
    assert "Your profile has been saved." in response.text


def test_keeping_ones_own_email_in_another_case_is_allowed(client, member):
    client.post(PROFILE_URL, profile_data(email="JLee@lab.example", current_password=DEFAULT_PASSWORD))

    member.refresh_from_db()
    assert member.email == "JLee@lab.example"


@pytest.mark.parametrize(
    ("current_password", "message"),
    [
        ("", "Enter your current password to change your username or e-mail address."),
        ("not my password", "Your current password is not correct."),
    ],
)
@pytest.mark.parametrize("change", [{"email": "thief@evil.example"}, {"username": "thief"}])
def test_a_new_email_or_username_needs_the_current_password(client, member, current_password, message, change):
    response = client.post(PROFILE_URL, profile_data(**change, current_password=current_password))

    assert message in response.text
    member.refresh_from_db()
    assert (member.email, member.username) == ("jlee@lab.example", "jlee")


def test_names_change_without_the_current_password(client, member):
    client.post(PROFILE_URL, profile_data(first_name="Joanna"))

    member.refresh_from_db()
    assert member.first_name == "Joanna"


def test_a_profile_change_is_audited_with_the_fields_changed_but_not_their_values(client, member):
    client.post(
        PROFILE_URL, profile_data(first_name="Joanna", email="jo@lab.example", current_password=DEFAULT_PASSWORD)
    )

    event = AuditEvent.objects.get(action=Action.USER_PROFILE)
    assert (event.actor, event.target_id) == (member, str(member.pk))
    assert event.details == {"fields": ["email", "first_name"]}
    assert DEFAULT_PASSWORD not in str(event.details)


def test_saving_an_unchanged_profile_records_nothing(client, member):
    client.post(PROFILE_URL, profile_data())

    assert not AuditEvent.objects.filter(action=Action.USER_PROFILE).exists()


@pytest.mark.parametrize("email", ["kteo@lab.example", "KTeo@LAB.example"])
def test_email_of_another_user_in_any_case_is_refused_with_a_clear_message(client, member, email):
    UserFactory(username="kteo", email="kteo@lab.example")

    response = client.post(PROFILE_URL, profile_data(email=email))

    assert response.status_code == 200
    assert "An account with this e-mail address already exists." in response.text
    member.refresh_from_db()
    assert member.email == "jlee@lab.example"


def test_username_of_another_user_in_any_case_is_refused(client, member):
    UserFactory(username="kteo")

    response = client.post(PROFILE_URL, profile_data(username="KTEO"))

    assert "This username is already taken." in response.text
    assert User.objects.filter(username="jlee").exists()


def test_a_refused_profile_form_keeps_the_current_username_in_the_navigation(client, member):
    UserFactory(username="kteo")

    response = client.post(PROFILE_URL, profile_data(username="kteo"))

    assert 'title="Profile settings">jlee</a>' in response.text
