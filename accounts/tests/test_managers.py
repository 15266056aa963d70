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
