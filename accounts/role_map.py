"""Roles from an identity source: LDAP_ROLE_GROUPS and OIDC_ROLE_MAP, one format, one parser, one rule.

The format is `role=group;role=group;…`, e.g. `regular=cn=students,ou=groups,dc=lab,dc=example;manager=cn=staff,…`:
everything after a role's first `=` is the group (an LDAP DN has `=` of its own). A role may be named several times.
Ranks come from access.roles.Role only.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from access.roles import Role

# A newcomer is what a person in no mapped group becomes: mapping a group to it would mean nothing.
MAPPABLE_ROLES = tuple(role for role in Role.values if role != Role.NEW_USER)


@dataclass(frozen=True)
class RoleMapping:
    role: str
    group: str


def parse_role_map(value: str, setting: str) -> tuple[RoleMapping, ...]:
    """The mappings of `value`, the text of the setting named `setting`; ImproperlyConfigured if it is malformed."""
    mappings = []
    for entry in (part.strip() for part in value.split(";")):
        if not entry:
            continue
        role, equals, group = (text.strip() for text in entry.partition("="))
        if not equals or not role or not group:
            raise ImproperlyConfigured(
                f"{setting}: {entry!r} is not of the form role=group (entries are separated by ';', "
                f"e.g. regular=cn=students,ou=groups,dc=lab,dc=example;manager=cn=staff,ou=groups,dc=lab,dc=example)."
            )
        if role not in MAPPABLE_ROLES:
            raise ImproperlyConfigured(
                f"{setting}: {role!r} is not a role that can be mapped; use one of: {', '.join(MAPPABLE_ROLES)}."
            )
        mappings.append(RoleMapping(role=role, group=group))
    return tuple(mappings)


@dataclass(frozen=True)
class GrantedRole:
    """What an identity source grants: the highest mapped role, and the group that gave it (None: no group)."""

    role: str
    group: str | None


def granted_role(
    memberships: Iterable[str], mappings: Iterable[RoleMapping], normalise: Callable[[str], str] = str
) -> GrantedRole:
    """The highest role that `memberships` (group names or DNs) map to; NEW_USER when none does."""
    held = {normalise(group) for group in memberships}
    matches = [mapping for mapping in mappings if normalise(mapping.group) in held]
    best = Role.highest([mapping.role for mapping in matches])
    if best is None:
        return GrantedRole(role=Role.NEW_USER, group=None)
    return GrantedRole(role=best, group=next(mapping.group for mapping in matches if mapping.role == best))


def role_after_sign_in(*, current: str, granted: GrantedRole, authoritative: bool) -> str:
    """The role a user has after signing in: the source's when authoritative, else only ever raised by it."""
    if authoritative:
        return granted.role
    return granted.role if Role.is_above(granted.role, current) else current
