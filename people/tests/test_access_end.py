"""Managers and admins set when an account's access ends (user page and Django admin), under the rules of
disabling: managers for anyone but admins, admins for anyone but themselves."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from access.roles import Role
from accounts.models import User
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from people import services

pytestmark = pytest.mark.django_db

DAYS = datetime.timedelta(days=1)


def access_end_url(user):
    return reverse("people:user_set_access_end", args=[user.pk])


def stored_end(user):
    return User.objects.get(pk=user.pk).access_expires_at


def test_a_manager_sets_the_end_of_a_students_access_on_the_user_page(client, settings):
    settings.TIME_ZONE = "UTC"
    manager = UserFactory(role=Role.MANAGER)
    student = UserFactory(role=Role.REGULAR, username="ada")
    client.force_login(manager)

    response = client.post(access_end_url(student), {"access_expires_at": "2099-07-31"}, follow=True)

    assert stored_end(student) == datetime.datetime(2099, 7, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC)
    assert "The access of ada ends 31 July 2099, 23:59." in response.text
    assert "31 July 2099, 23:59 (in " in response.text  # the user page shows it, with how long is left
    [event] = AuditEvent.objects.filter(action=Action.USER_ACCESS_EXPIRY)
    assert (event.actor, event.target_label) == (manager, "ada")
    assert event.details == {"expires_at": "2099-07-31T23:59:59.999999+00:00", "previous": None}


def test_an_empty_end_gives_back_access_without_end(client):
    manager = UserFactory(role=Role.MANAGER)
    student = UserFactory(role=Role.REGULAR, username="ada", access_expires_at=timezone.now() + DAYS)
    client.force_login(manager)

    response = client.post(access_end_url(student), {"access_expires_at": ""}, follow=True)

    assert stored_end(student) is None
    assert "The access of ada no longer ends." in response.text


def test_an_expired_account_is_given_access_again_by_a_later_end():
    manager = UserFactory(role=Role.MANAGER)
    student = UserFactory(role=Role.REGULAR, access_expires_at=timezone.now() - DAYS)

    services.user_set_access_expiry(user=student, actor=manager, expires_at=timezone.now() + DAYS)

    assert User.objects.access_current().filter(pk=student.pk).exists()


def test_an_end_in_the_past_is_refused():
    manager = UserFactory(role=Role.MANAGER)
    student = UserFactory(role=Role.REGULAR)

    with pytest.raises(ValidationError, match="Choose a moment in the future, or disable the account"):
        services.user_set_access_expiry(user=student, actor=manager, expires_at=timezone.now() - DAYS)

    assert stored_end(student) is None


@pytest.mark.parametrize(
    ("actor_role", "target", "allowed"),
    [
        (Role.MANAGER, Role.SIDEKICK, True),
        (Role.MANAGER, Role.MANAGER, True),
        (Role.MANAGER, Role.ADMIN, False),
        (Role.ADMIN, Role.ADMIN, True),
        (Role.SIDEKICK, Role.REGULAR, False),
        (Role.ADMIN, "self", False),
    ],
)
def test_who_may_set_an_end_follows_who_may_disable(actor_role, target, allowed):
    actor = UserFactory(role=actor_role)
    user = actor if target == "self" else UserFactory(role=target)
    end = timezone.now() + DAYS

    if allowed:
        services.user_set_access_expiry(user=user, actor=actor, expires_at=end)
        assert stored_end(user) == end
    else:
        with pytest.raises(PermissionDenied):
            services.user_set_access_expiry(user=user, actor=actor, expires_at=end)
        assert stored_end(user) is None


def test_a_manager_cannot_end_an_admins_access_through_the_page(client):
    client.force_login(UserFactory(role=Role.MANAGER))
    admin = UserFactory(role=Role.ADMIN)

    response = client.post(access_end_url(admin), {"access_expires_at": "2099-07-31"}, follow=True)

    assert "You cannot change when the access of" in response.text
    assert stored_end(admin) is None


def test_the_user_list_marks_expired_accounts(client):
    client.force_login(UserFactory(role=Role.MANAGER))
    UserFactory(username="gone", access_expires_at=timezone.now() - DAYS)

    response = client.get(reverse("people:user_list"))

    assert "access ended" in response.text


def test_the_django_admin_sets_the_end_through_the_service(admin_client):
    student = UserFactory(role=Role.REGULAR, username="ada")
    url = reverse("admin:accounts_user_change", args=[student.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data |= {"access_expires_at_0": "2099-07-31", "access_expires_at_1": "18:00:00", "role": student.role}

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert stored_end(student) is not None
    [event] = AuditEvent.objects.filter(action=Action.USER_ACCESS_EXPIRY)
    assert event.details["via"] == "admin"


def test_the_django_admin_refuses_an_end_in_the_past(admin_client):
    student = UserFactory(role=Role.REGULAR)
    url = reverse("admin:accounts_user_change", args=[student.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data |= {"access_expires_at_0": "2001-07-31", "access_expires_at_1": "18:00:00"}

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "Choose a moment in the future, or disable the account." in response.text
    assert stored_end(student) is None
