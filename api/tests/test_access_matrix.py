"""Every API endpoint, every kind of caller, every relation to the object, with the status written out by hand
from PRODUCT.md §3 (not derived from the querysets under test), and a check that no route of the API escapes it."""

from datetime import timedelta
from itertools import product

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from access.roles import Role
from accounts.models import ApiToken, TokenScope
from accounts.tests.factories import UserFactory
from accounts.tokens import token_create
from api.linkding import tag_id
from audit.models import AuditEvent
from bookmarks.tests.factories import BookmarkFactory
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

R, S, M, A = Role.REGULAR, Role.SIDEKICK, Role.MANAGER, Role.ADMIN
ROLES = (R, S, M, A)
# Callers that are not simply an approved role with a write token.
ANONYMOUS, NEWCOMER, READ_TOKEN, DISABLED, EXPIRED = "anonymous", "new_user", "read_token", "disabled", "expired"
CALLERS = (ANONYMOUS, NEWCOMER, *ROLES, READ_TOKEN, DISABLED, EXPIRED)


def everyone(status):
    return dict.fromkeys(ROLES, status)


def keepers(status):
    """Bookmarks are for sidekicks and up; a regular user's role cannot use them at all: 404."""
    return {R: 404, S: status, M: status, A: status}


def managers(status):
    return {R: 404, S: 404, M: status, A: status}


VM_BODY = {"name": "matrix", "host": "matrix.lab.example", "port": 22, "username": "lab"}
BOOKMARK_BODY = {"name": "Docs", "link": "https://docs.lab.example/matrix"}
LINKDING_BODY = {"url": "https://docs.lab.example/linkding", "title": "Docs", "tag_names": ["lab"]}

# (route, method, expected status by role, body) for the endpoints without an object.
COLLECTIONS = [
    ("vm-list", "get", everyone(200), None),
    ("vm-list", "post", {R: 403, S: 201, M: 201, A: 201}, VM_BODY),  # regular users own no VMs: the service refuses
    ("vm-ssh-config", "get", everyone(200), None),
    ("vm-import", "post", {R: 403, S: 200, M: 200, A: 200}, {"dry_run": "true"}),  # regular users own no VMs
    ("bookmark-list", "get", keepers(200), None),
    ("bookmark-list", "post", keepers(201), BOOKMARK_BODY),
    ("tag-list", "get", keepers(200), None),
    ("user-list", "get", managers(200), None),
    ("audit-event-list", "get", {R: 404, S: 404, M: 404, A: 200}, None),
    ("me", "get", everyone(200), None),
    ("token-list", "get", everyone(200), None),
    ("token-list", "post", everyone(403), {"name": "from a token"}),  # tokens are made in a browser session only
    ("schema", "get", everyone(200), None),
    ("linkding-bookmark-list", "get", keepers(200), None),
    ("linkding-bookmark-list", "post", keepers(201), LINKDING_BODY),
    ("linkding-bookmark-check", "get", keepers(200), {"url": "https://docs.lab.example/"}),
    ("linkding-bookmark-archived", "get", keepers(200), None),
    ("linkding-tag-list", "get", keepers(200), None),
    ("linkding-profile", "get", keepers(200), None),
]

# What a role may do with a VM in a relation to it (PRODUCT.md §3): None is 404.
READ, EDIT, ASSIGN = 1, 2, 3
VM_LEVEL = {
    R: {"assigned": READ, "others_shared": None, "others_private": None},
    S: {"own": EDIT, "assigned": READ, "others_shared": None, "others_private": None},
    M: {"own": ASSIGN, "others_shared": READ, "others_private": None},
    A: {"own": ASSIGN, "others_shared": ASSIGN, "others_private": None},  # admins edit any VM they see (§3)
}
# (route, method, level needed, status when allowed, body); the DELETE last.
VM_OBJECT = [
    ("vm-detail", "get", READ, 200, None),
    ("vm-detail", "patch", EDIT, 200, {"name": "renamed"}),
    ("vm-detail", "put", EDIT, 200, VM_BODY),
    ("vm-share", "post", EDIT, 200, {"shared": False}),
    ("vm-assign", "post", ASSIGN, 200, {"assigned_to": None}),
    ("vm-reveal", "post", READ, 400, {"password": "not-my-password", "secret": "password"}),  # wrong password
    ("vm-detail", "delete", EDIT, 204, None),
]
# (route, method, status by role for their own object, body); anyone else's is 404 for everyone.
OWN_OBJECTS = [
    ("bookmark-detail", "get", keepers(200), None),
    ("bookmark-detail", "patch", keepers(200), {"name": "Renamed"}),
    ("bookmark-detail", "put", keepers(200), BOOKMARK_BODY),
    ("bookmark-detail", "delete", keepers(204), None),
    ("linkding-bookmark-detail", "get", keepers(200), None),
    ("linkding-bookmark-detail", "patch", keepers(200), {"title": "Renamed"}),
    ("linkding-bookmark-detail", "put", keepers(200), LINKDING_BODY),
    ("linkding-bookmark-detail", "delete", keepers(204), None),
    ("linkding-tag-detail", "get", keepers(200), None),
    ("token-detail", "get", everyone(200), None),
    ("token-detail", "delete", everyone(204), None),
]
# Another user, seen by managers and admins (§3); (route, method, status, body, the target).
USER_OBJECTS = [
    ("user-detail", "get", managers(200), None, "sidekick"),
    ("user-approve", "post", managers(200), {"role": "regular"}, "newcomer"),
    ("user-role", "post", managers(200), {"role": "regular"}, "sidekick"),
    ("user-disable", "post", managers(200), None, "sidekick"),
    ("user-enable", "post", managers(200), None, "disabled"),
    ("audit-event-detail", "get", {R: 404, S: 404, M: 404, A: 200}, None, "event"),
]


def caller(identity, route):
    """(API client, the acting user or None, the role whose rights apply)."""
    keyword = "Token" if route.startswith("linkding") else "Bearer"
    client = APIClient()
    if identity == ANONYMOUS:
        return client, None, None
    if identity == NEWCOMER:
        user = UserFactory(role=Role.NEW_USER)
        client.force_login(user)
        return client, user, None
    role = S if identity in (READ_TOKEN, DISABLED, EXPIRED) else identity
    user = UserFactory(role=role)
    token, plaintext = token_create(
        user=user, name="matrix", scope=TokenScope.READ if identity == READ_TOKEN else "write"
    )
    if identity == DISABLED:
        type(user).objects.filter(pk=user.pk).update(is_active=False)
    if identity == EXPIRED:
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {plaintext}")
    return client, user, role


def refused_before_rights(identity, route, method) -> int | None:
    """The status that callers other than an approved role with a write token get, whatever the endpoint."""
    if identity in (ANONYMOUS, DISABLED, EXPIRED):
        return 401
    if identity == NEWCOMER:
        return 200 if route == "me" else 403
    if identity == READ_TOKEN and method != "get":
        return 403
    return None


def call(client, route, method, body, **kwargs):
    url = reverse(f"api:{route}", kwargs=kwargs)
    if method == "get":
        return client.get(url, body or {})
    if route == "vm-import":  # a file upload, made anew for each call
        upload = SimpleUploadedFile("vms.csv", b"name,host,username\nmatrix,matrix.lab.example,lab\n")
        return client.post(url, {**body, "file": upload}, format="multipart")
    return getattr(client, method)(url, body, format="json")


@pytest.mark.parametrize(("identity", "endpoint"), list(product(CALLERS, COLLECTIONS)), ids=str)
def test_collection_endpoints(identity, endpoint):
    route, method, by_role, body = endpoint
    client, _user, role = caller(identity, route)

    response = call(client, route, method, body)

    expected = refused_before_rights(identity, route, method) or by_role[role]
    assert response.status_code == expected, response.content


def vm_in_relation(actor, relation):
    owner = UserFactory(role=M)
    if relation == "own":
        return VirtualMachineFactory(owner=actor, password="matrix-vm-password")
    if relation == "assigned":
        return VirtualMachineFactory(owner=owner, assigned_to=actor, password="matrix-vm-password")
    return VirtualMachineFactory(owner=owner, shared=relation == "others_shared", password="matrix-vm-password")


VM_CASES = [
    (identity, relation, endpoint)
    for identity in CALLERS
    for relation in (VM_LEVEL.get(identity) or {"others_shared": None})
    for endpoint in VM_OBJECT
]


@pytest.mark.parametrize(("identity", "relation", "endpoint"), VM_CASES, ids=str)
def test_vm_endpoints(identity, relation, endpoint):
    route, method, needed, allowed_status, body = endpoint
    client, user, role = caller(identity, route)
    vm = vm_in_relation(user or UserFactory(role=S), relation)

    response = call(client, route, method, body, pk=vm.pk)

    level = VM_LEVEL[role][relation] if role else None
    expected = refused_before_rights(identity, route, method)
    if expected is None:
        expected = allowed_status if level is not None and level >= needed else 404
    assert response.status_code == expected, response.content
    assert b"matrix-vm-password" not in response.content
    if expected != allowed_status:
        assert VirtualMachine.objects.filter(pk=vm.pk, name=vm.name, shared=vm.shared).exists(), "a refusal wrote"


def own_object(route, owner):
    """An object of `owner`'s for `route`, and the URL's pk."""
    if route.startswith("token"):
        token, _plaintext = token_create(user=owner, name="another", scope=TokenScope.READ)
        return token.pk
    bookmark = BookmarkFactory(owner=owner, tags="lab matrix")
    return tag_id("matrix") if route == "linkding-tag-detail" else bookmark.pk


@pytest.mark.parametrize("relation", ["own", "others"])
@pytest.mark.parametrize(("identity", "endpoint"), list(product(CALLERS, OWN_OBJECTS)), ids=str)
def test_own_object_endpoints(identity, endpoint, relation):
    route, method, by_role, body = endpoint
    client, user, role = caller(identity, route)
    owner = user if relation == "own" and identity != NEWCOMER and user is not None else UserFactory(role=S)
    pk = own_object(route, owner)

    response = call(client, route, method, body, pk=pk)

    expected = refused_before_rights(identity, route, method)
    if expected is None:
        expected = by_role[role] if relation == "own" else 404
    assert response.status_code == expected, response.content


def target(kind):
    if kind == "newcomer":
        return UserFactory(role=Role.NEW_USER).pk
    if kind == "disabled":
        return UserFactory(role=S, is_active=False).pk
    if kind == "event":
        return AuditEvent.objects.create(action="vm.create", actor_label="someone").pk
    return UserFactory(role=S).pk


@pytest.mark.parametrize(("identity", "endpoint"), list(product(CALLERS, USER_OBJECTS)), ids=str)
def test_people_and_audit_endpoints(identity, endpoint):
    route, method, by_role, body, kind = endpoint
    client, _user, role = caller(identity, route)

    response = call(client, route, method, body, pk=target(kind))

    expected = refused_before_rights(identity, route, method) or by_role[role]
    assert response.status_code == expected, response.content


# -- No route of the API is left out -----------------------------------------------------------------------------

NOT_ENDPOINTS = {"docs", "redoc", "unknown"}  # the documentation pages (tested in test_docs.py), the 404 catch-all


def api_routes(patterns) -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names |= api_routes(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            names.add(pattern.name)
    return names


def test_every_api_route_is_in_the_matrix():
    _prefix, resolver = get_resolver().namespace_dict["api"]
    covered = {row[0] for row in [*COLLECTIONS, *VM_OBJECT, *OWN_OBJECTS, *USER_OBJECTS]}

    assert api_routes(resolver.url_patterns) - NOT_ENDPOINTS == covered
