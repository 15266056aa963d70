"""Server-side access control on every URL: the matrix of the portal issue.

Expected results are written out by hand from PRODUCT.md §3, not derived from the querysets under test.
"""

import datetime
import socket
from itertools import product

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from access.roles import Role
from access_requests.models import AccessRequest
from access_requests.tests.factories import AccessRequestFactory
from accounts.models import TokenScope
from accounts.tests.factories import UserFactory
from accounts.tokens import token_create
from bookmarks.tests.factories import BookmarkFactory
from machines import services as machine_services
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory
from vmlab.tests.urlconf import every_portal_page

pytestmark = pytest.mark.django_db

# What a role may do with a VM in a given relation to it: None (404), read, edit or assign. An assignment whose end
# has passed ("assignment_ended") is no assignment at all.
READ, EDIT, ASSIGN = 1, 2, 3
VM_ACCESS = {
    Role.REGULAR: {
        "assigned": READ,
        "assignment_ended": None,
        "others_shared": None,
        "others_private": None,
        "disabled_owner": None,
    },
    Role.SIDEKICK: {
        "own": EDIT,
        "assigned": READ,
        "assignment_ended": None,
        "others_shared": None,
        "others_private": None,
        "disabled_owner": None,
    },
    Role.MANAGER: {"own": ASSIGN, "others_shared": READ, "others_private": None, "disabled_owner": READ},
    # In the portal an admin may edit any VM visible to them (§3), never others' private ones.
    Role.ADMIN: {"own": ASSIGN, "others_shared": ASSIGN, "others_private": None, "disabled_owner": ASSIGN},
}

# (URL name, method, level needed, status when allowed). A connection to the VM is refused at once: its host is
# a loopback port nobody listens on (see vm_in_relation).
VM_URLS = [
    ("connect:terminal", "get", READ, 200),
    ("connect:files", "get", READ, 200),  # the page says the connection was refused
    ("connect:file_download", "get", READ, 302),  # no file named: back to the listing
    ("connect:file_upload", "post", READ, 302),  # no file chosen: a message on the listing
    ("connect:test_connection", "get", READ, 200),
    ("connect:test_connection", "post", READ, 200),
    ("connect:trust_host_key", "post", READ, 302),  # no fingerprint sent: a message, nothing stored
    ("connect:reset_host_key", "get", EDIT, 302),  # no key stored: back to the VM page
    ("connect:status", "get", READ, 200),
    ("connect:check_status", "post", READ, 302),  # a probe queued for the worker: back to the VM page
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


@pytest.fixture(scope="module")
def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def vm_in_relation(actor, relation, closed_port):
    vm = _vm_in_relation(actor, relation)
    VirtualMachine.objects.filter(pk=vm.pk).update(host="127.0.0.1", port=closed_port)
    return vm


def _vm_in_relation(actor, relation):
    if relation == "own":
        return VirtualMachineFactory(owner=actor, password="pw-own")
    owner = UserFactory(role=Role.MANAGER)
    if relation == "assigned":
        return VirtualMachineFactory(owner=owner, assigned_to=actor, password="pw-assigned")
    if relation == "assignment_ended":
        # Assigned for an hour, two hours ago: by the database's clock (which time-machine does not move) it ended.
        vm = VirtualMachineFactory(owner=owner, password="pw-ended")
        with time_machine.travel(timezone.now() - datetime.timedelta(hours=2)):
            until = timezone.now() + datetime.timedelta(hours=1)
            machine_services.vm_assign(vm=vm, actor=owner, assignee=actor, until=until)
        return vm
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
def test_vm_url_access_matrix(client, role, relation, url, closed_port):
    name, method, needed, allowed_status = url
    actor = UserFactory(role=role)
    client.force_login(actor)
    vm = vm_in_relation(actor, relation, closed_port)
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


# Pages about VMs without an object id: (URL name, method, status for each role). The import pages need the right to
# own VMs; the export is of the VMs a user sees, so every approved user has one.
VM_PAGES = [
    ("machines:create", "get", {Role.REGULAR: 404, Role.SIDEKICK: 200, Role.MANAGER: 200, Role.ADMIN: 200}),
    ("machines:import", "get", {Role.REGULAR: 404, Role.SIDEKICK: 200, Role.MANAGER: 200, Role.ADMIN: 200}),
    ("machines:import", "post", {Role.REGULAR: 404, Role.SIDEKICK: 200, Role.MANAGER: 200, Role.ADMIN: 200}),
    ("machines:import_apply", "post", {Role.REGULAR: 404, Role.SIDEKICK: 302, Role.MANAGER: 302, Role.ADMIN: 302}),
    ("machines:import_discard", "post", {Role.REGULAR: 404, Role.SIDEKICK: 302, Role.MANAGER: 302, Role.ADMIN: 302}),
    ("machines:export", "get", {Role.REGULAR: 200, Role.SIDEKICK: 200, Role.MANAGER: 200, Role.ADMIN: 200}),
]


@pytest.mark.parametrize(("name", "method", "statuses"), VM_PAGES, ids=lambda v: str(v))
@pytest.mark.parametrize("role", [Role.REGULAR, Role.SIDEKICK, Role.MANAGER, Role.ADMIN])
def test_vm_page_access_matrix(client, role, name, method, statuses):
    client.force_login(UserFactory(role=role))
    VirtualMachineFactory(shared=True, password="pw-others")

    response = getattr(client, method)(reverse(name))

    assert response.status_code == statuses[role]
    assert "pw-" not in response.text
    assert VirtualMachine.objects.count() == 1, "a refused or empty request created a VM"


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
    ("people:user_set_access_end", "post", 302),
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


TOKEN_URLS = [("accounts:token_revoke", "post", 302)]


@pytest.mark.parametrize("relation", ["own", "others"])
@pytest.mark.parametrize("role", [Role.REGULAR, Role.SIDEKICK, Role.MANAGER, Role.ADMIN])
def test_an_api_token_is_revoked_on_the_profile_page_by_its_owner_only(client, role, relation):
    actor = UserFactory(role=role)
    client.force_login(actor)
    owner = actor if relation == "own" else UserFactory(role=Role.SIDEKICK)
    token, _plaintext = token_create(user=owner, name="ci", scope=TokenScope.READ)

    response = client.post(reverse("accounts:token_revoke", args=[token.pk]))

    assert response.status_code == (302 if relation == "own" else 404)
    token.refresh_from_db()
    assert token.revoked is (relation == "own")


# Access requests: what each role may do with their own request and with another user's request for a VM. Deciding
# is for managers and admins (an empty form is refused: 400); withdrawing only for the requester (anyone else who
# sees the request gets a message and a redirect).
REQUEST_URLS = ["access_requests:detail", "access_requests:approve", "access_requests:deny", "access_requests:withdraw"]
REQUEST_ACCESS = {
    (Role.REGULAR, "own"): (200, 404, 404, 302),
    (Role.SIDEKICK, "own"): (200, 404, 404, 302),
    (Role.REGULAR, "others"): (404, 404, 404, 404),
    (Role.SIDEKICK, "others"): (404, 404, 404, 404),
    (Role.MANAGER, "others"): (200, 400, 400, 302),
    (Role.ADMIN, "others"): (200, 400, 400, 302),
}
REQUEST_METHODS = ["get", "post", "post", "post"]


@pytest.mark.parametrize(("role", "relation"), REQUEST_ACCESS, ids=lambda v: str(v))
@pytest.mark.parametrize("index", range(len(REQUEST_URLS)), ids=REQUEST_URLS)
def test_access_request_url_access_matrix(client, role, relation, index):
    actor = UserFactory(role=role)
    client.force_login(actor)
    requester = actor if relation == "own" else UserFactory(role=Role.REGULAR)
    access_request = AccessRequestFactory(requester=requester)

    response = getattr(client, REQUEST_METHODS[index])(reverse(REQUEST_URLS[index], args=[access_request.pk]))

    assert response.status_code == REQUEST_ACCESS[(role, relation)][index]
    decided = AccessRequest.objects.get(pk=access_request.pk).state
    assert decided == (
        AccessRequest.State.WITHDRAWN if relation == "own" and index == 3 else AccessRequest.State.PENDING
    )


@pytest.mark.parametrize("role", [Role.REGULAR, Role.SIDEKICK, Role.MANAGER, Role.ADMIN])
@pytest.mark.parametrize("relation", ["assigned_with_end", "assigned_without_end", "assignment_ended", "others"])
def test_asking_for_more_time_is_for_the_assignee_of_an_assignment_with_an_end(client, role, relation):
    actor = UserFactory(role=role)
    client.force_login(actor)
    owner = UserFactory(role=Role.MANAGER)
    vm = VirtualMachineFactory(owner=owner)
    assignee = actor if relation != "others" else UserFactory(role=Role.REGULAR)
    if role in (Role.REGULAR, Role.SIDEKICK) or relation == "others":
        if relation == "assignment_ended":
            with time_machine.travel(timezone.now() - datetime.timedelta(hours=2)):
                until = timezone.now() + datetime.timedelta(hours=1)
                machine_services.vm_assign(vm=vm, actor=owner, assignee=assignee, until=until)
        else:
            until = timezone.now() + datetime.timedelta(days=2) if relation != "assigned_without_end" else None
            machine_services.vm_assign(vm=vm, actor=owner, assignee=assignee, until=until)

    response = client.get(reverse("access_requests:extend", args=[vm.pk]))

    allowed = role in (Role.REGULAR, Role.SIDEKICK) and relation == "assigned_with_end"
    assert response.status_code == (200 if allowed else 404)


# -- Every page: anonymous visitors go to the login page, newcomers to the waiting page ---------------

PUBLIC_PAGES = {
    "favicon",
    "accounts:login",
    "accounts:register",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    # The language switcher and the JavaScript's strings serve the pages above.
    "set_language",
    "javascript-catalog",
}
NEWCOMER_PAGES = {"accounts:waiting", "accounts:logout"}
# The steps of signing in, open to anonymous visitors, with what each answers a plain GET when no sign-in is under way
# (and, here, no OpenID Connect provider is configured): the passkey check takes JSON POSTs only; the code form sends
# back to the login page.
SIGN_IN_STEPS = {
    "accounts:login_break_glass": 200,
    "accounts:second_factor": 302,
    "oidc:authenticate": 404,
    "oidc:callback": 404,
    "otp_webauthn:credential-authentication-begin": 405,
    "otp_webauthn:credential-authentication-complete": 405,
    "otp_webauthn:js-i18n-catalog": 200,
}


PAGES = every_portal_page()


@pytest.mark.parametrize(("name", "kwargs"), PAGES, ids=[name for name, _ in PAGES])
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, name, kwargs):
    VirtualMachineFactory(pk=1)
    url = reverse(name, kwargs=kwargs)

    response = client.get(url)

    if name in SIGN_IN_STEPS:
        assert response.status_code == SIGN_IN_STEPS[name]
        assert response.get("Location", reverse("accounts:login")) == reverse("accounts:login")
    elif name in PUBLIC_PAGES:
        assert response.status_code in (200, 301, 302)
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

    if name in SIGN_IN_STEPS:
        # Signed in already: the break-glass login sends on to the dashboard (and so the waiting page), the rest
        # answer as to anyone.
        expected = 302 if name == "accounts:login_break_glass" else SIGN_IN_STEPS[name]
        assert response.status_code == expected
    elif name in NEWCOMER_PAGES or name in PUBLIC_PAGES:
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


# -- Every URL of an object is in one of the matrices above -------------------------------------------------------

CHECKED_BY_THEIR_OWN_TESTS = {
    "people:user_delete": test_deleting_a_user_is_for_admins_and_disabled_users_only,
    "people:user_deny": test_denying_a_newcomer_is_for_admins_only,
    "access_requests:extend": test_asking_for_more_time_is_for_the_assignee_of_an_assignment_with_an_end,
}


def test_every_url_of_an_object_is_in_an_access_matrix():
    """A new page with an object id cannot skip the matrices: every namespace of the URL configuration is read."""
    object_urls = {name for name, kwargs in PAGES if "pk" in kwargs}
    covered = {url[0] for url in [*VM_URLS, *BOOKMARK_URLS, *USER_URLS, *TOKEN_URLS]} | set(REQUEST_URLS)
    covered |= set(CHECKED_BY_THEIR_OWN_TESTS)

    assert object_urls - covered == set()
    assert {name.split(":")[0] for name in object_urls} == {
        "machines",
        "connect",
        "bookmarks",
        "people",
        "accounts",
        "access_requests",
    }


@pytest.mark.parametrize(("name", "kwargs"), PAGES, ids=[name for name, _ in PAGES])
def test_every_page_names_the_methods_it_answers(admin_client, name, kwargs):
    """Each view says which HTTP methods it takes (require_safe, require_POST, ...); anything else is a 405."""
    VirtualMachineFactory(pk=1)

    assert admin_client.generic("PATCH", reverse(name, kwargs=kwargs)).status_code == 405


def test_a_head_request_is_answered_like_a_get_for_uptime_probes(admin_client):
    assert admin_client.head(reverse("dashboard")).status_code == 200


def test_a_refusal_from_a_service_after_the_page_checked_access_is_a_404_not_a_403(client, monkeypatch):
    """A VM taken out of the user's reach between the view's check and the service's (another change in between)."""
    from django.core.exceptions import PermissionDenied

    from machines import services

    owner = UserFactory(role=Role.SIDEKICK)
    client.force_login(owner)
    vm = VirtualMachineFactory(owner=owner, shared=False)

    def taken_away(**kwargs):
        raise PermissionDenied("You cannot change this VM.")

    monkeypatch.setattr(services, "vm_set_shared", taken_away)
    response = client.post(reverse("machines:share", args=[vm.pk]), {"shared": "true"})

    assert response.status_code == 404
    assert "Page not found" in response.text
