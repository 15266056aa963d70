"""Signing in against a real OpenLDAP server (accounts.directory): accounts, roles, failures."""

import time

import pytest
from django.core import mail
from django.urls import reverse

from access.roles import Role
from accounts.models import SignIn, User
from accounts.tests.directory_server import STAFF, STUDENTS
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from audit.models import Action, AuditEvent
from machines.tests.factories import VirtualMachineFactory
from people import services as people_services

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
UNAVAILABLE = "Sign-in service unavailable"
GENERIC_ERROR = "Please enter a correct username and password"
DIRECTORY_PASSWORD = "directory pass 4 ada"


def log_in(client, username, password=DIRECTORY_PASSWORD):
    return client.post(LOGIN_URL, {"username": username, "password": password})


def is_logged_in(client):
    return "_auth_user_id" in client.session


def test_a_students_first_login_creates_a_regular_account_with_the_directorys_name_and_email(
    client, directory_settings
):
    directory_settings.add_person("ada1", DIRECTORY_PASSWORD, given="Ada", family="Lovelace", groups=[STUDENTS])

    response = log_in(client, "ada1")

    assert response.status_code == 302
    assert is_logged_in(client)
    user = User.objects.get(username="ada1")
    assert (user.first_name, user.last_name, user.email) == ("Ada", "Lovelace", "ada1@lab.example")
    assert (user.role, user.sign_in) == (Role.REGULAR, SignIn.LDAP)
    assert not user.has_usable_password()
    created = AuditEvent.objects.get(action=Action.USER_EXTERNAL_CREATE)
    assert created.actor_label == "LDAP directory"
    assert created.details == {"source": "ldap", "role": "regular", "group": STUDENTS}
    login = AuditEvent.objects.get(action=Action.LOGIN)
    assert (login.details["how"], login.details["second_factor"]) == ("ldap", "none")


def test_staff_sign_in_as_managers(client, directory_settings):
    directory_settings.add_person("grace1", DIRECTORY_PASSWORD, given="Grace", family="Hopper", groups=[STAFF])

    log_in(client, "grace1")

    assert User.objects.get(username="grace1").role == Role.MANAGER


def test_someone_in_no_mapped_group_lands_on_the_waiting_list(client, directory_settings):
    directory_settings.add_person("linus1", DIRECTORY_PASSWORD, given="Linus", family="Pauling")

    response = log_in(client, "linus1")

    assert response.status_code == 302
    user = User.objects.get(username="linus1")
    assert user.role == Role.NEW_USER
    assert list(User.objects.awaiting_approval()) == [user]
    assert client.get(reverse("dashboard")).url == reverse("accounts:waiting")


def test_the_directory_only_raises_a_role_an_admin_set_by_hand(client, directory_settings, admin):
    dn = directory_settings.add_person("ada2", DIRECTORY_PASSWORD, groups=[STUDENTS])
    log_in(client, "ada2")
    client.post(reverse("accounts:logout"))
    user = User.objects.get(username="ada2")
    people_services.user_set_role(user=user, role=Role.SIDEKICK, actor=admin)

    log_in(client, "ada2")
    client.post(reverse("accounts:logout"))
    assert User.objects.get(username="ada2").role == Role.SIDEKICK

    directory_settings.join(dn, STAFF)
    log_in(client, "ada2")
    assert User.objects.get(username="ada2").role == Role.MANAGER
    sync = AuditEvent.objects.get(action=Action.USER_ROLE_SYNC)
    assert sync.details == {
        "old": "sidekick",
        "new": "manager",
        "source": "ldap",
        "authoritative": False,
        "group": STAFF,
    }
    assert sync.actor_label == "LDAP directory"


def test_an_authoritative_directory_also_lowers_a_role(client, directory_settings, admin, settings):
    settings.LDAP_ROLE_GROUPS_AUTHORITATIVE = True
    directory_settings.add_person("ada3", DIRECTORY_PASSWORD, groups=[STUDENTS])
    log_in(client, "ada3")
    client.post(reverse("accounts:logout"))
    people_services.user_set_role(user=User.objects.get(username="ada3"), role=Role.SIDEKICK, actor=admin)

    log_in(client, "ada3")

    assert User.objects.get(username="ada3").role == Role.REGULAR


def test_a_user_disabled_in_vm_lab_stays_out_whatever_the_directory_says(client, directory_settings, admin):
    directory_settings.add_person("ada4", DIRECTORY_PASSWORD, groups=[STAFF])
    log_in(client, "ada4")
    client.post(reverse("accounts:logout"))
    people_services.user_disable(user=User.objects.get(username="ada4"), actor=admin)

    response = log_in(client, "ada4")

    assert response.status_code == 200
    assert "This account is disabled" in response.text
    assert not is_logged_in(client)
    assert User.objects.get(username="ada4").role == Role.MANAGER


def test_a_user_the_directory_no_longer_has_cannot_log_in(client, directory_settings):
    dn = directory_settings.add_person("ada5", DIRECTORY_PASSWORD, groups=[STUDENTS])
    log_in(client, "ada5")
    client.post(reverse("accounts:logout"))
    directory_settings.delete(dn)

    response = log_in(client, "ada5")

    assert GENERIC_ERROR in response.text
    assert not is_logged_in(client)


def test_a_local_account_is_not_taken_over_by_a_directory_entry_of_the_same_name(client, directory_settings):
    UserFactory(username="ada6", email="local-ada@lab.example")
    directory_settings.add_person("ada6", DIRECTORY_PASSWORD, groups=[STAFF])

    response = log_in(client, "ada6")

    assert GENERIC_ERROR in response.text
    assert User.objects.get(username="ada6").sign_in == SignIn.LOCAL
    assert log_in(client, "ada6", DEFAULT_PASSWORD).status_code == 302


def test_a_directory_email_address_used_by_another_account_is_refused_with_a_message(client, directory_settings):
    UserFactory(username="someone", email="ada7@lab.example")
    directory_settings.add_person("ada7", DIRECTORY_PASSWORD, groups=[STUDENTS])

    response = log_in(client, "ada7")

    assert "Another VM Lab account already uses your e-mail address ada7@lab.example" in response.text
    assert not User.objects.filter(username="ada7").exists()


def test_wrong_directory_passwords_lock_the_account_out_after_five(client, directory_settings):
    directory_settings.add_person("ada8", DIRECTORY_PASSWORD, groups=[STUDENTS])
    log_in(client, "ada8")
    client.post(reverse("accounts:logout"))

    answers = [log_in(client, "ada8", "not it").status_code for _ in range(5)]
    locked = log_in(client, "ada8")

    assert answers == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    assert not is_logged_in(client)


def test_a_directory_that_is_down_says_so_counts_nothing_and_local_users_still_log_in(
    client, directory_settings, settings, closed_ldap_port
):
    settings.LDAP_SERVER_URI = f"ldap://127.0.0.1:{closed_ldap_port}"
    UserFactory(username="localjo")

    answers = [log_in(client, "ada9") for _ in range(6)]

    assert all(answer.status_code == 200 and UNAVAILABLE in answer.text for answer in answers)
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED, details__directory_unavailable=True).count() == 6
    assert log_in(client, "localjo", DEFAULT_PASSWORD).status_code == 302
    assert is_logged_in(client)


def test_a_directory_that_never_answers_fails_within_ldap_timeout(
    client, directory_settings, settings, silent_ldap_port
):
    settings.LDAP_SERVER_URI = f"ldap://127.0.0.1:{silent_ldap_port}"
    settings.LDAP_TIMEOUT = 1.0

    started = time.monotonic()
    response = log_in(client, "ada10")

    assert UNAVAILABLE in response.text
    assert time.monotonic() - started < 5


def test_directory_users_get_no_password_reset_mail(client, directory_settings):
    directory_settings.add_person("ada11", DIRECTORY_PASSWORD, groups=[STUDENTS])
    log_in(client, "ada11")
    client.post(reverse("accounts:logout"))

    response = client.post(reverse("accounts:password_reset"), {"email": "ada11@lab.example"})

    assert response.status_code == 302
    assert mail.outbox == []
    assert not User.objects.get(username="ada11").has_usable_password()


def test_directory_users_cannot_change_their_password_here(client, directory_settings):
    directory_settings.add_person("ada12", DIRECTORY_PASSWORD, groups=[STUDENTS])
    log_in(client, "ada12")

    response = client.get(reverse("accounts:password_change"), follow=True)

    assert "Your password is kept by your institution" in response.text
    assert 'name="new_password1"' not in response.text


def test_a_directory_user_reveals_a_vm_password_with_their_directory_password(client, directory_settings):
    directory_settings.add_person("ada13", DIRECTORY_PASSWORD, groups=[STUDENTS])
    log_in(client, "ada13")
    user = User.objects.get(username="ada13")
    vm = VirtualMachineFactory(assigned_to=user, password="vm-secret-13")
    url = reverse("machines:reveal", args=[vm.pk])

    wrong = client.post(url, {"secret": "password", "account_password": "guess"})
    right = client.post(url, {"secret": "password", "account_password": DIRECTORY_PASSWORD})

    assert "Your password is not correct." in wrong.text
    assert "vm-secret-13" not in wrong.text
    assert right.status_code == 200
    assert "vm-secret-13" in right.text
