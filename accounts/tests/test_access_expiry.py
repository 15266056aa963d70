"""Accounts with an end (access_expires_at): from that moment they have no access at all, as if disabled, decided
by the login backend and access.rights (the database's clock in SQL, Python's for a loaded user)."""

import datetime

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from access import rights
from access.roles import Role
from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from machines.models import VirtualMachine
from machines.tests.expiry import wait_past
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
GENERIC_ERROR = "Please enter a correct username and password"
EXPIRED_ERROR = "This account&#x27;s access has ended. Ask a lab manager to extend it."
HOUR = datetime.timedelta(hours=1)


def log_in(client, username, password=DEFAULT_PASSWORD):
    return client.post(LOGIN_URL, {"username": username, "password": password})


def is_logged_in(client):
    return "_auth_user_id" in client.session


@pytest.fixture
def expired():
    return UserFactory(username="ada", role=Role.SIDEKICK, access_expires_at=timezone.now() - HOUR)


def test_an_expired_account_with_the_right_password_is_told_its_access_ended(client, expired):
    response = log_in(client, "ada")

    assert response.status_code == 200
    assert EXPIRED_ERROR in response.text
    assert GENERIC_ERROR not in response.text
    assert not is_logged_in(client)


def test_an_expired_account_with_a_wrong_password_sees_only_the_generic_error(client, expired):
    response = log_in(client, "ada", "not the password")

    assert GENERIC_ERROR in response.text
    assert "access has ended" not in response.text


def test_an_account_whose_end_is_still_to_come_logs_in(client):
    UserFactory(username="ada", access_expires_at=timezone.now() + HOUR)

    log_in(client, "ada")

    assert is_logged_in(client)


def test_an_expired_admin_cannot_log_in_to_the_django_admin(client):
    UserFactory(username="root", role=Role.ADMIN, access_expires_at=timezone.now() - HOUR)

    response = client.post(reverse("admin:login"), {"username": "root", "password": DEFAULT_PASSWORD})

    assert "access has ended" in response.text
    assert not is_logged_in(client)


def test_an_open_session_ends_the_moment_the_account_expires(client):
    user = UserFactory(username="ada", access_expires_at=timezone.now() + datetime.timedelta(seconds=3))
    client.force_login(user)
    assert client.get(reverse("dashboard")).status_code == 200

    wait_past(user.access_expires_at)
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response.url.startswith(LOGIN_URL)


def test_an_expired_account_gets_no_session_even_through_authenticate(client, expired):
    client.login(request=RequestFactory().post(LOGIN_URL), username="ada", password=DEFAULT_PASSWORD)

    assert client.get(reverse("dashboard")).status_code == 302


def test_an_expired_account_holds_no_right_by_either_clock(expired):
    right = rights.OWN_VMS

    assert not right.granted_to(expired)
    assert not User.objects.with_right(right).filter(pk=expired.pk).exists()
    assert list(User.objects.access_ended()) == [expired]


def test_an_expired_account_sees_no_vm_not_even_its_own(expired):
    VirtualMachineFactory(owner=expired)
    VirtualMachineFactory(shared=True)

    assert not VirtualMachine.objects.visible_to(expired).exists()


def test_vms_cannot_be_assigned_to_an_expired_account(client, expired):
    manager = UserFactory(role=Role.MANAGER)
    client.force_login(manager)
    vm = VirtualMachineFactory(owner=manager)

    response = client.get(reverse("machines:assign", args=[vm.pk]))

    assert response.status_code == 200
    assert expired not in response.context["form"].fields["assigned_to"].queryset
    assert f'value="{expired.pk}"' not in response.text


# Time zones: each user reads dates in their own


def test_the_profile_sets_the_users_time_zone(client):
    user = UserFactory(username="ada")
    client.force_login(user)
    data = {"username": "ada", "email": user.email, "first_name": "A", "last_name": "L", "time_zone": "Asia/Tokyo"}

    response = client.post(reverse("accounts:profile"), data, follow=True)

    assert "Your profile has been saved." in response.text
    assert User.objects.get(pk=user.pk).time_zone == "Asia/Tokyo"


def test_a_time_zone_that_does_not_exist_is_refused(client):
    user = UserFactory(username="ada")
    client.force_login(user)
    data = {"username": "ada", "email": user.email, "time_zone": "Mars/Olympus"}

    response = client.post(reverse("accounts:profile"), data)

    assert "Select a valid choice. Mars/Olympus is not one of the available choices." in response.text
    assert User.objects.get(pk=user.pk).time_zone == ""
