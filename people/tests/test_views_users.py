import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.roles import Role
from accounts.models import User
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from bookmarks.models import Bookmark
from bookmarks.tests.factories import BookmarkFactory
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

USER_LIST_URL = reverse("people:user_list")


def url(name, user):
    return reverse(f"people:{name}", args=[user.pk])


def logged_in(client, role, **kwargs):
    actor = UserFactory(role=role, **kwargs)
    client.force_login(actor)
    return actor


@pytest.fixture
def manager(client):
    return logged_in(client, Role.MANAGER, username="manager")


@pytest.fixture
def admin_actor(client):
    return logged_in(client, Role.ADMIN, username="boss")


def role_in_db(user):
    return User.objects.values_list("role", flat=True).get(pk=user.pk)


def is_active_in_db(user):
    return User.objects.values_list("is_active", flat=True).get(pk=user.pk)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


# who may open the pages


@pytest.mark.parametrize("role", [Role.REGULAR, Role.SIDEKICK])
def test_user_list_is_forbidden_below_manager(client, role):
    logged_in(client, role)

    assert client.get(USER_LIST_URL).status_code == 404


def test_disabled_manager_session_cannot_open_the_user_list(client):
    logged_in(client, Role.MANAGER, is_active=False)

    response = client.get(USER_LIST_URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("user_detail", "get"),
        ("user_set_role", "post"),
        ("user_disable", "post"),
        ("user_enable", "post"),
        ("user_delete", "get"),
        ("user_approve", "post"),
        ("user_deny", "post"),
    ],
)
def test_user_pages_are_404_for_a_sidekick(client, name, method):
    logged_in(client, Role.SIDEKICK)
    other = UserFactory(role=Role.REGULAR, is_active=name != "user_enable")

    response = getattr(client, method)(url(name, other), {"role": Role.SIDEKICK})

    assert response.status_code == 404
    other.refresh_from_db()
    assert (other.role, other.is_active) == (Role.REGULAR, name != "user_enable")


def test_anonymous_visitor_is_sent_to_login_from_the_user_list(client):
    response = client.get(USER_LIST_URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_unknown_user_is_404(client, manager):
    assert client.get(reverse("people:user_detail", args=[999999])).status_code == 404


@pytest.mark.parametrize("name", ["user_set_role", "user_disable", "user_enable", "user_approve", "user_deny"])
def test_changes_by_get_are_refused(client, admin_actor, name):
    other = UserFactory(role=Role.NEW_USER)

    assert client.get(url(name, other)).status_code == 405
    assert User.objects.filter(pk=other.pk, role=Role.NEW_USER).exists()


# user list


def test_user_list_shows_every_user_with_role_state_and_vm_count(client, manager):
    owner = UserFactory(username="mgarcia", email="maria@lab.example", first_name="Maria", last_name="Garcia")
    VirtualMachineFactory.create_batch(3, owner=owner)
    UserFactory(username="dpeters", role=Role.REGULAR, is_active=False)

    response = client.get(USER_LIST_URL)

    assert response.status_code == 200
    page = list(response.context["page_obj"])
    assert [user.username for user in page] == ["dpeters", "manager", "mgarcia"]
    assert {user.username: user.vm_count for user in page} == {"dpeters": 0, "manager": 0, "mgarcia": 3}
    assert "Maria Garcia" in response.text
    assert "maria@lab.example" in response.text
    assert "disabled" in response.text


def listed(response):
    return {user.username for user in response.context["page_obj"]}


def test_user_list_filters_by_role(client, manager):
    UserFactory(username="dpeters", role=Role.REGULAR)
    UserFactory(username="jlee", role=Role.SIDEKICK)

    response = client.get(USER_LIST_URL, {"role": Role.REGULAR})

    assert listed(response) == {"dpeters"}


@pytest.mark.parametrize(
    ("state", "expected"),
    [("active", {"manager", "jlee"}), ("disabled", {"dpeters"}), ("all", {"manager", "jlee", "dpeters"})],
)
def test_user_list_filters_by_state(client, manager, state, expected):
    UserFactory(username="dpeters", is_active=False)
    UserFactory(username="jlee")

    assert listed(client.get(USER_LIST_URL, {"state": state})) == expected


def test_user_list_searches_names_and_emails(client, manager):
    UserFactory(username="mgarcia", first_name="Maria", last_name="Garcia")
    UserFactory(username="jlee", email="jlee@other.example")

    assert listed(client.get(USER_LIST_URL, {"q": "maria gar"})) == {"mgarcia"}
    assert listed(client.get(USER_LIST_URL, {"q": "other.example"})) == {"jlee"}


def test_user_list_ignores_an_unknown_filter_value(client, manager):
    UserFactory(username="jlee")

    response = client.get(USER_LIST_URL, {"role": "emperor", "state": "sleeping"})

    assert response.status_code == 200
    assert listed(response) == {"manager", "jlee"}


def test_user_list_is_paginated(client, manager):
    UserFactory.create_batch(25)

    first, second = client.get(USER_LIST_URL), client.get(USER_LIST_URL, {"page": 2})

    assert (len(first.context["page_obj"]), len(second.context["page_obj"])) == (20, 6)
    assert "Page 1 of 2" in first.text


def add_users_and_count_list_queries(client, users):
    for user in UserFactory.create_batch(users):
        VirtualMachineFactory(owner=user)
    with CaptureQueriesContext(connection) as queries:
        assert len(client.get(USER_LIST_URL).context["page_obj"]) == User.objects.count()
    return len(queries)


def test_user_list_query_count_does_not_grow_with_the_number_of_users(client, manager):
    with_four_users = add_users_and_count_list_queries(client, 3)
    with_eight_users = add_users_and_count_list_queries(client, 4)

    assert with_four_users == with_eight_users


# user detail


def test_user_detail_shows_profile_owned_and_assigned_vms_but_never_a_secret(client, manager):
    user = UserFactory(username="jlee", role=Role.SIDEKICK, email="jlee@lab.example")
    VirtualMachineFactory(name="jlee-own-vm", owner=user, shared=True, password="owned-vm-secret", ssh_key=None)
    VirtualMachineFactory(name="given-to-jlee", owner=manager, assigned_to=user, password="assigned-vm-secret")

    response = client.get(url("user_detail", user))

    assert response.status_code == 200
    assert "jlee@lab.example" in response.text
    assert "jlee-own-vm" in response.text
    assert "given-to-jlee" in response.text
    assert "owned-vm-secret" not in response.text
    assert "assigned-vm-secret" not in response.text


def test_user_detail_lists_only_the_vms_the_viewer_may_open(client, manager):
    user = UserFactory(username="jlee", role=Role.SIDEKICK)
    VirtualMachineFactory(name="jlee-shared-vm", owner=user, shared=True)
    VirtualMachineFactory(name="jlee-private-vm", owner=user, shared=False, host="private.hidden.example")
    VirtualMachineFactory(name="jlee-private-too", owner=user, shared=False)

    response = client.get(url("user_detail", user))

    assert "jlee-shared-vm" in response.text
    assert "jlee-private-vm" not in response.text
    assert "private.hidden.example" not in response.text
    assert "2 more VMs are not listed: you cannot open them." in response.text


def test_user_detail_counts_assigned_vms_the_viewer_cannot_open_without_listing_them(client, manager, settings):
    settings.VM_SHARING_MINIMUM_ROLE = "disabled"
    user = UserFactory(username="dpeters", role=Role.REGULAR)
    VirtualMachineFactory(name="others-shared-assigned", shared=True, assigned_to=user)

    response = client.get(url("user_detail", user))

    assert "others-shared-assigned" not in response.text
    assert "1 more VM is not listed: you cannot open it." in response.text
    assert "No VM is assigned to dpeters." not in response.text


def test_user_detail_runs_the_same_number_of_queries_for_n_and_2n_vms(client, manager):
    user = UserFactory(role=Role.SIDEKICK)

    def detail_queries(count):
        VirtualMachineFactory.create_batch(count, owner=user, shared=True)
        VirtualMachineFactory.create_batch(count, owner=manager, assigned_to=user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url("user_detail", user)).status_code == 200
        return len(queries)

    assert detail_queries(3) == detail_queries(3)


def test_manager_sees_role_choices_up_to_sidekick_and_disable_for_a_sidekick(client, manager):
    user = UserFactory(role=Role.SIDEKICK)

    response = client.get(url("user_detail", user))

    assert response.context["actions"].roles == [Role.REGULAR, Role.SIDEKICK]
    assert url("user_set_role", user) in response.text
    assert url("user_disable", user) in response.text
    assert url("user_delete", user) not in response.text


def test_manager_sees_no_action_for_an_admin(client, manager):
    admin = UserFactory(role=Role.ADMIN)

    response = client.get(url("user_detail", admin))

    assert url("user_set_role", admin) not in response.text
    assert url("user_disable", admin) not in response.text
    assert "You cannot change this account." in response.text


def test_admin_may_change_the_role_of_a_manager_up_to_manager(client, admin_actor):
    other_manager = UserFactory(role=Role.MANAGER)

    response = client.get(url("user_detail", other_manager))

    assert response.context["actions"].roles == [Role.REGULAR, Role.SIDEKICK, Role.MANAGER]
    assert '<option value="manager" selected>' in response.text


def test_nobody_sees_a_role_form_on_their_own_page(client, admin_actor):
    response = client.get(url("user_detail", admin_actor))

    assert url("user_set_role", admin_actor) not in response.text
    assert url("user_disable", admin_actor) not in response.text


def test_admin_sees_delete_and_enable_for_a_disabled_user(client, admin_actor):
    user = UserFactory(is_active=False)

    response = client.get(url("user_detail", user))

    assert url("user_delete", user) in response.text
    assert url("user_enable", user) in response.text
    assert url("user_disable", user) not in response.text


def test_admin_sees_no_delete_for_an_active_user(client, admin_actor):
    user = UserFactory()

    assert url("user_delete", user) not in client.get(url("user_detail", user)).text


def test_manager_sees_no_delete_for_a_disabled_user(client, manager):
    user = UserFactory(is_active=False)

    response = client.get(url("user_detail", user))

    assert url("user_delete", user) not in response.text
    assert url("user_enable", user) in response.text


# change role


def test_manager_changes_a_sidekick_to_regular(client, manager):
    user = UserFactory(username="jlee", role=Role.SIDEKICK)

    response = client.post(url("user_set_role", user), {"role": Role.REGULAR}, follow=True)

    assert role_in_db(user) == Role.REGULAR
    assert response.redirect_chain[-1][0] == url("user_detail", user)
    assert "jlee is now Regular." in messages_of(response)
    event = AuditEvent.objects.get(action=Action.USER_ROLE)
    assert (event.actor_label, event.target_label, event.details) == (
        "manager",
        "jlee",
        {"old": Role.SIDEKICK, "new": Role.REGULAR},
    )


def test_manager_cannot_grant_manager(client, manager):
    user = UserFactory(role=Role.SIDEKICK)

    response = client.post(url("user_set_role", user), {"role": Role.MANAGER}, follow=True)

    assert response.status_code == 200
    assert role_in_db(user) == Role.SIDEKICK
    assert "Choose one of the roles offered." in messages_of(response)


def test_manager_cannot_change_the_role_of_another_manager(client, manager):
    other_manager = UserFactory(username="kteo", role=Role.MANAGER)

    response = client.post(url("user_set_role", other_manager), {"role": Role.REGULAR}, follow=True)

    assert role_in_db(other_manager) == Role.MANAGER
    assert "You cannot change the role of user kteo to Regular." in messages_of(response)
    assert not AuditEvent.objects.exclude(action=Action.LOGIN).exists()


def test_admin_promotes_a_sidekick_to_manager(client, admin_actor):
    user = UserFactory(role=Role.SIDEKICK)

    client.post(url("user_set_role", user), {"role": Role.MANAGER})

    assert role_in_db(user) == Role.MANAGER


def test_admin_cannot_grant_admin(client, admin_actor):
    user = UserFactory(role=Role.MANAGER)

    client.post(url("user_set_role", user), {"role": Role.ADMIN})

    assert role_in_db(user) == Role.MANAGER


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_nobody_changes_their_own_role(client, role):
    actor = logged_in(client, role)

    response = client.post(url("user_set_role", actor), {"role": Role.REGULAR}, follow=True)

    assert role_in_db(actor) == role
    assert "You cannot change your own role." in messages_of(response)


def test_role_change_returns_to_the_page_named_by_next_only_on_this_site(client, manager):
    user = UserFactory(role=Role.SIDEKICK)

    inside = client.post(url("user_set_role", user), {"role": Role.REGULAR, "next": USER_LIST_URL})
    outside = client.post(url("user_set_role", user), {"role": Role.SIDEKICK, "next": "https://evil.example/"})

    assert inside.url == USER_LIST_URL
    assert outside.url == url("user_detail", user)


# disable / enable


def test_manager_disables_a_sidekick_whose_vms_become_shared(client, manager):
    user = UserFactory(username="jlee", role=Role.SIDEKICK)
    VirtualMachineFactory.create_batch(2, owner=user, shared=False)

    response = client.post(url("user_disable", user), follow=True)

    assert is_active_in_db(user) is False
    assert set(VirtualMachine.objects.owned_by(user).values_list("shared", flat=True)) == {True}
    assert "jlee is disabled; 2 private VMs of theirs became shared." in messages_of(response)
    assert AuditEvent.objects.get(action=Action.USER_DISABLE).details == {"vms_shared": 2}


def test_manager_cannot_disable_an_admin(client, manager):
    admin = UserFactory(username="jsmith", role=Role.ADMIN)

    response = client.post(url("user_disable", admin), follow=True)

    assert response.status_code == 200
    assert is_active_in_db(admin) is True
    assert "You cannot disable user jsmith." in messages_of(response)


def test_nobody_disables_themselves(client, admin_actor):
    response = client.post(url("user_disable", admin_actor), follow=True)

    assert is_active_in_db(admin_actor) is True
    assert "You cannot disable your own account." in messages_of(response)


def test_manager_enables_a_disabled_user(client, manager):
    user = UserFactory(username="jlee", is_active=False)

    response = client.post(url("user_enable", user), follow=True)

    assert is_active_in_db(user) is True
    assert "jlee is enabled and can log in again." in messages_of(response)
    assert AuditEvent.objects.filter(action=Action.USER_ENABLE, target_id=str(user.pk)).exists()


def test_manager_cannot_enable_a_disabled_admin(client, manager):
    admin = UserFactory(role=Role.ADMIN, is_active=False)

    client.post(url("user_enable", admin))

    assert is_active_in_db(admin) is False


# delete


@pytest.fixture
def disabled_owner():
    user = UserFactory(username="leaver", is_active=False)
    VirtualMachineFactory.create_batch(3, owner=user)
    BookmarkFactory.create_batch(12, owner=user)
    return user


def test_admin_sees_what_deleting_a_disabled_user_deletes(client, admin_actor, disabled_owner):
    response = client.get(url("user_delete", disabled_owner))

    assert response.status_code == 200
    assert "3 VMs and 12 bookmarks will be deleted" in response.text
    assert User.objects.filter(pk=disabled_owner.pk).exists()


def test_admin_deletes_a_disabled_user_with_their_vms_and_bookmarks(client, admin_actor, disabled_owner):
    others_vm = VirtualMachineFactory(assigned_to=disabled_owner)

    response = client.post(url("user_delete", disabled_owner), follow=True)

    assert response.redirect_chain[-1][0] == USER_LIST_URL
    assert not User.objects.filter(pk=disabled_owner.pk).exists()
    assert not VirtualMachine.objects.owned_by(disabled_owner).exists()
    assert not Bookmark.objects.filter(owner_id=disabled_owner.pk).exists()
    others_vm.refresh_from_db()
    assert others_vm.assigned_to is None
    assert "User leaver was deleted with 3 VM(s) and 12 bookmark(s)." in messages_of(response)
    event = AuditEvent.objects.get(action=Action.USER_DELETE)
    assert (event.target_label, event.details) == ("leaver", {"vms": 3, "bookmarks": 12})


def test_admin_cannot_delete_an_active_user(client, admin_actor):
    user = UserFactory()

    assert client.get(url("user_delete", user)).status_code == 404
    assert client.post(url("user_delete", user)).status_code == 404
    assert User.objects.filter(pk=user.pk).exists()


def test_manager_cannot_delete_a_disabled_user(client, manager, disabled_owner):
    assert client.get(url("user_delete", disabled_owner)).status_code == 404
    assert client.post(url("user_delete", disabled_owner)).status_code == 404
    assert User.objects.filter(pk=disabled_owner.pk).exists()
