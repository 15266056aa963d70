"""The rights of each role, written out by hand from PRODUCT.md §3, not derived from access.rights."""

import pytest

from access import rights
from access.roles import Role
from accounts.models import User
from accounts.tests.factories import UserFactory

NEW, REG, SIDE, MAN, ADM = Role.NEW_USER, Role.REGULAR, Role.SIDEKICK, Role.MANAGER, Role.ADMIN
ALL_ROLES = [NEW, REG, SIDE, MAN, ADM]

# right: the roles that hold it (with the default VM_SHARING_MINIMUM_ROLE, manager)
EXPECTED = {
    rights.USE_PORTAL: {REG, SIDE, MAN, ADM},
    rights.OWN_VMS: {SIDE, MAN, ADM},
    rights.KEEP_BOOKMARKS: {SIDE, MAN, ADM},
    rights.BE_ASSIGNED_VMS: {REG, SIDE},
    rights.ASSIGN_VMS: {MAN, ADM},
    rights.SEE_OTHERS_SHARED_VMS: {MAN, ADM},
    rights.MANAGE_USERS: {MAN, ADM},
    rights.REMOVE_USERS: {ADM},
    rights.VIEW_AUDIT: {ADM},
    rights.ADMINISTER: {ADM},
    rights.BREAK_GLASS: {ADM},
    # The tests' settings make the second factor optional (conftest.py); production's default is below.
    rights.MUST_USE_SECOND_FACTOR: set(),
}
CASES = [(right, role) for right in EXPECTED for role in ALL_ROLES]


@pytest.mark.parametrize(("right", "role"), CASES, ids=lambda value: str(value))
def test_each_role_holds_the_rights_of_the_product_spec(right, role):
    assert right.granted_to(UserFactory.build(role=role)) is (role in EXPECTED[right])


@pytest.mark.parametrize("right", EXPECTED, ids=str)
def test_a_disabled_admin_holds_no_right(right):
    assert right.granted_to(UserFactory.build(role=ADM, is_active=False)) is False


@pytest.mark.parametrize("right", EXPECTED, ids=str)
def test_an_anonymous_visitor_holds_no_right(right):
    from django.contrib.auth.models import AnonymousUser

    assert right.granted_to(AnonymousUser()) is False


@pytest.mark.django_db
@pytest.mark.parametrize("right", EXPECTED, ids=str)
def test_the_holders_query_finds_exactly_the_users_granted_the_right(right):
    users = [UserFactory(role=role, is_active=active) for role in ALL_ROLES for active in (True, False)]

    found = set(User.objects.with_right(right).values_list("pk", flat=True))

    assert found == {user.pk for user in users if right.granted_to(user)}


@pytest.mark.parametrize(("role", "expected"), [(NEW, False), (REG, True), (SIDE, True), (MAN, True), (ADM, True)])
def test_sharing_minimum_regular_lets_every_approved_user_see_others_shared_vms(settings, role, expected):
    settings.VM_SHARING_MINIMUM_ROLE = "regular"

    assert rights.SEE_OTHERS_SHARED_VMS.granted_to(UserFactory.build(role=role)) is expected


@pytest.mark.parametrize("role", ALL_ROLES)
def test_sharing_disabled_hides_others_shared_vms_from_every_role(settings, role):
    settings.VM_SHARING_MINIMUM_ROLE = "disabled"

    assert rights.SEE_OTHERS_SHARED_VMS.granted_to(UserFactory.build(role=role)) is False


@pytest.mark.parametrize(("role", "expected"), [(NEW, False), (REG, False), (SIDE, False), (MAN, True), (ADM, True)])
def test_from_the_default_required_role_managers_and_admins_must_use_a_second_factor(settings, role, expected):
    settings.TWO_FACTOR_REQUIRED_ROLE = "manager"

    assert rights.MUST_USE_SECOND_FACTOR.granted_to(UserFactory.build(role=role)) is expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [(NEW, []), (REG, []), (SIDE, []), (MAN, [REG, SIDE]), (ADM, [REG, SIDE, MAN])],
)
def test_grantable_roles_follow_the_actors_role(role, expected):
    assert rights.grantable_roles(UserFactory.build(role=role)) == expected


def test_a_disabled_admin_grants_no_role():
    assert rights.grantable_roles(UserFactory.build(role=ADM, is_active=False)) == []
