"""Server-side access control on every URL: the matrix of the portal issue.

Expected results are written out by hand from PRODUCT.md §3, not derived from the querysets under test.
"""

from itertools import product

import pytest
from django.urls import URLPattern, get_resolver, reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from bookmarks.tests.factories import BookmarkFactory
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

# What a role may do with a VM in a given relation to it: None (404), read, edit or assign.
READ, EDIT, ASSIGN = 1, 2, 3
VM_ACCESS = {
    Role.REGULAR: {"assigned": READ, "others_shared": None, "others_private": None, "disabled_owner": None},
    Role.SIDEKICK: {
        "own": EDIT,
        "assigned": READ,
        "others_shared": None,
        "others_private": None,
        "disabled_owner": None,
    },
    Role.MANAGER: {"own": ASSIGN, "others_shared": READ, "others_private": None, "disabled_owner": READ},
    # In the portal an admin may edit any VM visible to them (§3), never others' private ones.
    Role.ADMIN: {"own": ASSIGN, "others_shared": ASSIGN, "others_private": None, "disabled_owner": ASSIGN},
}

# (URL name, method, level needed, status when allowed)
VM_URLS = [
    ("machines:detail", "get", READ, 200),
    ("machines:ssh_config", "get", READ, 200),
    ("machines:reveal", "get", READ, 200),
    ("machines:reveal", "post", READ, 200),  # a wrong password: the form again, with an error
    ("machines:edit", "get", EDIT, 200),
    ("machines:edit", "post", EDIT, 200),  # an empty form: errors, nothing saved
    ("machines:delete", "get", EDIT, 200),
    ("machines:password", "get", EDIT, 200),
    ("machines:ssh_key", "get", EDIT, 200),
    ("machines:share", "post", EDIT, 302),
    ("machines:assign", "get", ASSIGN, 200),
    ("machines:assign", "post", ASSIGN, 200),  # an invalid choice: errors, nothing saved
    ("machines:delete", "post", EDIT, 302),  # last: it deletes
]

VM_CASES = [
    (role, relation, url) for role, relations in VM_ACCESS.items() for relation, url in product(relations, VM_URLS)
]


def vm_in_relation(actor, relation):
    if relation == "own":
        return VirtualMachineFactory(owner=actor, password="pw-own")
    owner = UserFactory(role=Role.MANAGER)
    if relation == "assigned":
        return VirtualMachineFactory(owner=owner, assigned_to=actor, password="pw-assigned")
    if relation == "others_shared":
        return VirtualMachineFactory(owner=owner, shared=True, password="pw-shared")
    if relation == "others_private":
        return VirtualMachineFactory(owner=owner, shared=False, password="pw-private")
    if relation == "disabled_owner":
        owner.is_active = False
        owner.save()
        return VirtualMachineFactory(owner=owner, shared=True, password="pw-disabled-owner")
    raise AssertionError(relation)


@pytest.mark.parametrize(("role", "relation", "url"), VM_CASES, ids=lambda v: str(v))
def test_vm_url_access_matrix(client, role, relation, url):
    name, method, needed, allowed_status = url
    actor = UserFactory(role=role)
    client.force_login(actor)
    vm = vm_in_relation(actor, relation)
    level = VM_ACCESS[role][relation]

    response = getattr(client, method)(reverse(name, args=[vm.pk]), {"password": "wrong", "assigned_to": "999999"})

    expected = allowed_status if level is not None and level >= needed else 404
    assert response.status_code == expected
    assert "pw-" not in response.text
    if expected == 404:
        assert VirtualMachine.objects.filter(pk=vm.pk, shared=vm.shared).exists(), "a refused request changed the VM"


def test_regular_users_see_others_shared_vms_when_the_sharing_minimum_is_regular(client, settings):
    settings.VM_SHARING_MINIMUM_ROLE = Role.REGULAR
    client.force_login(UserFactory(role=Role.REGULAR))
    shared = VirtualMachineFactory(shared=True)
    private = VirtualMachineFactory(shared=False)

    assert client.get(reverse("machines:detail", args=[shared.pk])).status_code == 200
    assert client.get(reverse("machines:edit", args=[shared.pk])).status_code == 404
    assert client.get(reverse("machines:detail", args=[private.pk])).status_code == 404


BOOKMARK_URLS = [("bookmarks:edit", "get", 200), ("bookmarks:delete", "get", 200), ("bookmarks:delete", "post", 302)]


@pytest.mark.parametrize("url", BOOKMARK_URLS, ids=lambda v: str(v))
@pytest.mark.parametrize("role", [Role.REGULAR, Role.SIDEKICK, Role.MANAGER, Role.ADMIN])
@pytest.mark.parametrize("relation", ["own", "others"])
def test_bookmark_url_access_matrix(client, role, relation, url):
    name, method, allowed_status = url
    actor = UserFactory(role=role)
    client.force_login(actor)
    bookmark = BookmarkFactory(owner=actor if relation == "own" else UserFactory(role=Role.SIDEKICK))

    response = getattr(client, method)(reverse(name, args=[bookmark.pk]))

    # Bookmarks are private to their owner, and regular users keep none.
    allowed = relation == "own" and role != Role.REGULAR
    assert response.status_code == (allowed_status if allowed else 404)


# What managers and admins may open about another user; POST actions answer with a redirect and a
# message (the services decide whether the change is allowed, see accounts' tests).
USER_URLS = [
    ("people:user_detail", "get", 200),
    ("people:user_set_role", "post", 302),
    ("people:user_disable", "post", 302),
    ("people:user_enable", "post", 302),
    ("people:user_approve", "post", 302),
]
USER_TARGETS = ["self", Role.NEW_USER, Role.REGULAR, Role.SIDEKICK, Role.MANAGER, Role.ADMIN, "disabled"]


def target_user(actor, target):
    if target == "self":
        return actor
    if target == "disabled":
        return UserFactory(role=Role.SIDEKICK, is_active=False)
    return UserFactory(role=target)


@pytest.mark.parametrize("url", USER_URLS, ids=lambda v: str(v))
@pytest.mark.parametrize("target", USER_TARGETS)
@pytest.mark.parametrize("role", [Role.REGULAR, Role.SIDEKICK, Role.MANAGER, Role.ADMIN])
def test_user_admin_url_access_matrix(client, role, target, url):
    name, method, allowed_status = url
    actor = UserFactory(role=role)
    client.force_login(actor)
    user = target_user(actor, target)

    response = getattr(client, method)(reverse(name, args=[user.pk]), {"role": Role.SIDEKICK})

    allowed = role in (Role.MANAGER, Role.ADMIN)
    assert response.status_code == (allowed_status if allowed else 404)


@pytest.mark.parametrize("target", USER_TARGETS)
@pytest.mark.parametrize("role", [Role.REGULAR, Role.SIDEKICK, Role.MANAGER, Role.ADMIN])
def test_deleting_a_user_is_for_admins_and_disabled_users_only(client, role, target):
    actor = UserFactory(role=role)
    client.force_login(actor)
    user = target_user(actor, target)
    url = reverse("people:user_delete", args=[user.pk])

    page = client.get(url)
    client.post(url)

    may_delete = role == Role.ADMIN and target == "disabled"
    assert page.status_code in ((200,) if may_delete else (302, 404))
    if role not in (Role.MANAGER, Role.ADMIN):
        assert page.status_code == 404
    assert type(user).objects.filter(pk=user.pk).exists() is not may_delete


@pytest.mark.parametrize("role", [Role.REGULAR, Role.SIDEKICK, Role.MANAGER, Role.ADMIN])
def test_denying_a_newcomer_is_for_admins_only(client, role):
    client.force_login(UserFactory(role=role))
    newcomer = UserFactory(role=Role.NEW_USER)

    response = client.post(reverse("people:user_deny", args=[newcomer.pk]))

    assert response.status_code == (404 if role in (Role.REGULAR, Role.SIDEKICK) else 302)
    assert type(newcomer).objects.filter(pk=newcomer.pk).exists() is (role != Role.ADMIN)


# -- Every page: anonymous visitors go to the login page, newcomers to the waiting page ---------------

PUBLIC_PAGES = {
    "accounts:login",
    "accounts:register",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
}
NEWCOMER_PAGES = {"accounts:waiting", "accounts:logout"}


def every_portal_page():
    """(name, kwargs) for every named URL of the portal, found in the URL configuration itself."""
    pages = [("dashboard", {})]
    resolver = get_resolver()
    for namespace in ("accounts", "machines", "bookmarks", "audit"):
        for pattern in resolver.namespace_dict[namespace][1].url_patterns:
            assert isinstance(pattern, URLPattern)
            kwargs = {name: 1 for name in pattern.pattern.converters}
            if "uidb64" in str(pattern.pattern):
                kwargs = {"uidb64": "MQ", "token": "set-password"}
            pages.append((f"{namespace}:{pattern.name}", kwargs))
    return pages


PAGES = every_portal_page()


@pytest.mark.parametrize(("name", "kwargs"), PAGES, ids=[name for name, _ in PAGES])
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, name, kwargs):
    VirtualMachineFactory(pk=1)
    url = reverse(name, kwargs=kwargs)

    response = client.get(url)

    if name in PUBLIC_PAGES:
        assert response.status_code in (200, 302)
        assert not response.get("Location", "").startswith(reverse("accounts:login"))
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(f"{reverse('accounts:login')}?next=")


@pytest.mark.parametrize(("name", "kwargs"), PAGES, ids=[name for name, _ in PAGES])
def test_a_user_awaiting_approval_sees_only_the_waiting_page(client, name, kwargs):
    newcomer = UserFactory(role=Role.NEW_USER)
    client.force_login(newcomer)
    VirtualMachineFactory(pk=1, owner=newcomer, shared=True)

    response = client.get(reverse(name, kwargs=kwargs))

    if name in NEWCOMER_PAGES or name in PUBLIC_PAGES:
        assert response.status_code != 404
    else:
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:waiting")


def test_the_waiting_page_tells_a_newcomer_what_happens_next(client):
    client.force_login(UserFactory(role=Role.NEW_USER))

    response = client.get(reverse("accounts:waiting"))

    assert response.status_code == 200
    assert "approv" in response.text.lower()


def test_an_unknown_page_gets_the_friendly_404_page(client):
    client.force_login(UserFactory(role=Role.SIDEKICK))

    response = client.get("/machines/999999/")

    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Back to the dashboard" in response.text
