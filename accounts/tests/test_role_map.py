"""LDAP_ROLE_GROUPS and OIDC_ROLE_MAP: one format, one parser, one rule for what a sign-in does to a role."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from access.roles import Role
from accounts.role_map import GrantedRole, RoleMapping, granted_role, parse_role_map, role_after_sign_in

LDAP_VALUE = "regular=cn=students,ou=groups,dc=lab,dc=example;manager=cn=staff,ou=groups,dc=lab,dc=example;"


def test_a_dn_keeps_its_own_equals_signs():
    assert parse_role_map(LDAP_VALUE, "LDAP_ROLE_GROUPS") == (
        RoleMapping("regular", "cn=students,ou=groups,dc=lab,dc=example"),
        RoleMapping("manager", "cn=staff,ou=groups,dc=lab,dc=example"),
    )


def test_an_empty_value_maps_nothing():
    assert parse_role_map("", "OIDC_ROLE_MAP") == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("regular", "OIDC_ROLE_MAP: 'regular' is not of the form role=group"),
        ("regular=", "OIDC_ROLE_MAP: 'regular=' is not of the form role=group"),
        ("=students", "is not of the form role=group"),
        ("boss=staff", "OIDC_ROLE_MAP: 'boss' is not a role that can be mapped; use one of: regular, sidekick"),
        ("new_user=guests", "'new_user' is not a role that can be mapped"),
    ],
)
def test_a_malformed_value_or_an_unknown_role_stops_start_up_with_a_clear_message(value, message):
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(")):
        parse_role_map(value, "OIDC_ROLE_MAP")


def test_the_highest_mapped_role_wins_and_names_its_group():
    mappings = parse_role_map("regular=/students;manager=/staff;sidekick=/tutors", "OIDC_ROLE_MAP")

    assert granted_role(["/tutors", "/staff", "/other"], mappings) == GrantedRole(Role.MANAGER, "/staff")
    assert granted_role(["/other"], mappings) == GrantedRole(Role.NEW_USER, None)


@pytest.mark.parametrize(
    ("current", "granted", "authoritative", "after"),
    [
        (Role.NEW_USER, Role.REGULAR, False, Role.REGULAR),
        (Role.SIDEKICK, Role.REGULAR, False, Role.SIDEKICK),
        (Role.SIDEKICK, Role.NEW_USER, False, Role.SIDEKICK),
        (Role.SIDEKICK, Role.REGULAR, True, Role.REGULAR),
        (Role.SIDEKICK, Role.NEW_USER, True, Role.NEW_USER),
        (Role.REGULAR, Role.MANAGER, False, Role.MANAGER),
    ],
)
def test_a_sign_in_raises_a_role_only_unless_the_source_is_authoritative(current, granted, authoritative, after):
    assert role_after_sign_in(current=current, granted=GrantedRole(granted, None), authoritative=authoritative) == after
