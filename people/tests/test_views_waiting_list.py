import pytest
from django.urls import reverse

from access.roles import Role
from accounts.models import User
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db

WAITING_LIST_URL = reverse("people:waiting_list")


def url(name, user):
    return reverse(f"people:{name}", args=[user.pk])


def logged_in(client, role):
    actor = UserFactory(username=str(role), role=role)
    client.force_login(actor)
    return actor


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def role_in_db(user):
    return User.objects.values_list("role", flat=True).get(pk=user.pk)


@pytest.mark.parametrize("role", [Role.REGULAR, Role.SIDEKICK])
def test_waiting_list_is_forbidden_below_manager(client, role):
    logged_in(client, role)

    assert client.get(WAITING_LIST_URL).status_code == 404


def test_waiting_list_shows_newcomers_only(client):
    logged_in(client, Role.MANAGER)
    UserFactory(username="rbriggs", role=Role.NEW_USER)
    UserFactory(username="bbaker", role=Role.NEW_USER, is_active=False)
    UserFactory(username="dpeters", role=Role.REGULAR)

    response = client.get(WAITING_LIST_URL)

    assert [user.username for user in response.context["page_obj"]] == ["rbriggs"]
    assert "rbriggs" in response.text


def test_empty_waiting_list_says_so(client):
    logged_in(client, Role.MANAGER)

    assert "Nobody is waiting for approval." in client.get(WAITING_LIST_URL).text


def test_manager_may_approve_as_regular_or_sidekick_but_not_deny(client):
    logged_in(client, Role.MANAGER)
    newcomer = UserFactory(role=Role.NEW_USER)

    response = client.get(WAITING_LIST_URL)

    assert '<option value="sidekick">' in response.text
    assert '<option value="manager">' not in response.text
    assert url("user_approve", newcomer) in response.text
    assert url("user_deny", newcomer) not in response.text


def test_admin_may_approve_as_manager_and_deny(client):
    logged_in(client, Role.ADMIN)
    newcomer = UserFactory(role=Role.NEW_USER)

    response = client.get(WAITING_LIST_URL)

    assert '<option value="manager">' in response.text
    assert url("user_deny", newcomer) in response.text
    assert "data-confirm=" in response.text


def test_manager_approves_a_newcomer_as_sidekick(client):
    logged_in(client, Role.MANAGER)
    newcomer = UserFactory(username="rbriggs", role=Role.NEW_USER)

    response = client.post(url("user_approve", newcomer), {"role": Role.SIDEKICK}, follow=True)

    assert role_in_db(newcomer) == Role.SIDEKICK
    assert response.redirect_chain[-1][0] == WAITING_LIST_URL
    assert "rbriggs is approved as Sidekick." in messages_of(response)
    assert "Nobody is waiting for approval." in response.text
    event = AuditEvent.objects.get(action=Action.USER_APPROVE)
    assert (event.actor_label, event.target_label, event.details) == ("manager", "rbriggs", {"role": Role.SIDEKICK})


def test_approved_newcomer_reaches_the_dashboard(client):
    newcomer = UserFactory(role=Role.NEW_USER)
    manager = UserFactory(role=Role.MANAGER)
    client.force_login(manager)
    client.post(url("user_approve", newcomer), {"role": Role.REGULAR})

    client.force_login(newcomer)

    assert client.get(reverse("dashboard")).status_code == 200


def test_manager_cannot_approve_as_manager(client):
    logged_in(client, Role.MANAGER)
    newcomer = UserFactory(role=Role.NEW_USER)

    response = client.post(url("user_approve", newcomer), {"role": Role.MANAGER}, follow=True)

    assert role_in_db(newcomer) == Role.NEW_USER
    assert "Choose one of the roles offered." in messages_of(response)


def test_admin_approves_a_newcomer_as_manager(client):
    logged_in(client, Role.ADMIN)
    newcomer = UserFactory(role=Role.NEW_USER)

    client.post(url("user_approve", newcomer), {"role": Role.MANAGER})

    assert role_in_db(newcomer) == Role.MANAGER


def test_approving_someone_already_approved_is_refused_with_a_message(client):
    logged_in(client, Role.ADMIN)
    member = UserFactory(username="dpeters", role=Role.REGULAR)

    response = client.post(url("user_approve", member), {"role": Role.MANAGER}, follow=True)

    assert role_in_db(member) == Role.REGULAR
    assert "User dpeters is not waiting for approval." in messages_of(response)


def test_admin_denies_a_newcomer_whose_account_is_deleted(client):
    logged_in(client, Role.ADMIN)
    newcomer = UserFactory(username="rbriggs", role=Role.NEW_USER)

    response = client.post(url("user_deny", newcomer), follow=True)

    assert not User.objects.filter(pk=newcomer.pk).exists()
    assert response.redirect_chain[-1][0] == WAITING_LIST_URL
    assert "The request of rbriggs was denied and the account deleted." in messages_of(response)
    event = AuditEvent.objects.get(action=Action.USER_DENY)
    assert (event.actor_label, event.target_label, event.target_id) == ("admin", "rbriggs", str(newcomer.pk))


def test_manager_cannot_deny(client):
    logged_in(client, Role.MANAGER)
    newcomer = UserFactory(username="rbriggs", role=Role.NEW_USER)

    response = client.post(url("user_deny", newcomer), follow=True)

    assert User.objects.filter(pk=newcomer.pk).exists()
    assert "You cannot deny user rbriggs." in messages_of(response)


def test_deny_does_not_delete_an_approved_user(client):
    logged_in(client, Role.ADMIN)
    member = UserFactory(username="dpeters", role=Role.REGULAR)

    response = client.post(url("user_deny", member), follow=True)

    assert User.objects.filter(pk=member.pk).exists()
    assert "User dpeters is not waiting for approval." in messages_of(response)


def test_newcomer_detail_page_offers_approve_and_for_an_admin_deny(client):
    logged_in(client, Role.ADMIN)
    newcomer = UserFactory(role=Role.NEW_USER)

    response = client.get(url("user_detail", newcomer))

    assert url("user_approve", newcomer) in response.text
    assert url("user_deny", newcomer) in response.text
    assert url("user_set_role", newcomer) not in response.text
