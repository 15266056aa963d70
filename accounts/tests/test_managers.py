import pytest

from access.roles import Role
from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab_users():
    """One active user per role, plus a disabled newcomer and a disabled manager."""
    users = {role: UserFactory(username=str(role), role=role) for role in Role}
    users["disabled_new_user"] = UserFactory(username="disabled_new_user", role=Role.NEW_USER, is_active=False)
    users["disabled_manager"] = UserFactory(username="disabled_manager", role=Role.MANAGER, is_active=False)
    return users


def usernames(queryset):
    return set(queryset.values_list("username", flat=True))


def test_with_role_returns_only_users_of_that_role(lab_users):
    assert usernames(User.objects.with_role(Role.MANAGER)) == {"manager", "disabled_manager"}


def test_with_role_accepts_the_plain_string_value(lab_users):
    assert usernames(User.objects.with_role("sidekick")) == {"sidekick"}


def test_at_least_returns_the_role_and_every_higher_one(lab_users):
    assert usernames(User.objects.at_least(Role.MANAGER)) == {"manager", "disabled_manager", "admin"}


def test_at_least_regular_leaves_out_newcomers(lab_users):
    assert usernames(User.objects.at_least(Role.REGULAR)) == {
        "regular",
        "sidekick",
        "manager",
        "disabled_manager",
        "admin",
    }


def test_awaiting_approval_lists_active_newcomers_only(lab_users):
    assert usernames(User.objects.awaiting_approval()) == {"new_user"}


def test_active_leaves_out_disabled_users(lab_users):
    assert usernames(User.objects.active()) == {"new_user", "regular", "sidekick", "manager", "admin"}


def test_disabled_lists_only_disabled_users(lab_users):
    assert usernames(User.objects.disabled()) == {"disabled_new_user", "disabled_manager"}


def test_filters_chain(lab_users):
    assert usernames(User.objects.at_least(Role.MANAGER).active()) == {"manager", "admin"}


# The verbs of the user pages (PRODUCT.md §3), as a manager and as an admin sees the lab_users

ALL = {"new_user", "regular", "sidekick", "manager", "admin", "disabled_new_user", "disabled_manager"}
VERB_EXPECTATIONS = {
    # verb: (what the manager may do it to, what the admin may do it to)
    "visible_to": (ALL, ALL),
    "approvable_by": ({"new_user"}, {"new_user"}),
    "deniable_by": (set(), {"new_user"}),
    "role_changeable_by": ({"regular", "sidekick"}, {"regular", "sidekick", "manager", "disabled_manager"}),
    "disablable_by": (ALL - {"manager", "admin"}, ALL - {"admin"}),
    "deletable_by": (set(), {"disabled_new_user", "disabled_manager"}),
}


@pytest.mark.parametrize("verb", VERB_EXPECTATIONS)
@pytest.mark.parametrize("actor_role", [Role.MANAGER, Role.ADMIN])
def test_user_page_verbs_follow_the_rights_of_managers_and_admins(lab_users, verb, actor_role):
    actor = lab_users[actor_role]
    expected = VERB_EXPECTATIONS[verb][actor_role == Role.ADMIN]

    assert usernames(getattr(User.objects, verb)(actor)) == expected


@pytest.mark.parametrize("verb", VERB_EXPECTATIONS)
@pytest.mark.parametrize("actor", ["regular", "sidekick", "disabled_manager"])
def test_user_page_verbs_give_nothing_to_other_roles_or_a_disabled_manager(lab_users, verb, actor):
    assert usernames(getattr(User.objects, verb)(lab_users[actor])) == set()
