"""Script payloads in every text field come back escaped, or are rejected with a message."""

import pytest
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

SCRIPT = '<script>alert("xss")</script>'
ESCAPED_SCRIPT = "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;"
ATTRIBUTE_BREAKER = '"><img src=x onerror=alert(1)>'
JS_LINK = "javascript:alert(1)"


def assert_escaped(response):
    assert response.status_code == 200
    assert SCRIPT not in response.text
    assert "<img src=x" not in response.text
    assert ESCAPED_SCRIPT in response.text


@pytest.fixture
def manager(client):
    user = UserFactory(role=Role.MANAGER)
    client.force_login(user)
    return user


@pytest.fixture
def stored_payloads(manager):
    """A payload in every free-text field of every model, as a user could store it."""
    victim = UserFactory(
        role=Role.REGULAR, first_name=SCRIPT, last_name=ATTRIBUTE_BREAKER, username="victim", email="v@lab.example"
    )
    vm = VirtualMachineFactory(name=SCRIPT + ATTRIBUTE_BREAKER, owner=manager, assigned_to=victim)
    bookmark = BookmarkFactory(
        name=SCRIPT + ATTRIBUTE_BREAKER, owner=manager, tags=f"{SCRIPT} tag", description=SCRIPT + ATTRIBUTE_BREAKER
    )
    return {"user": victim, "vm": vm, "bookmark": bookmark}


@pytest.mark.parametrize(
    "page",
    [
        lambda p: reverse("dashboard"),
        lambda p: reverse("machines:detail", args=[p["vm"].pk]),
        lambda p: reverse("machines:edit", args=[p["vm"].pk]),
        lambda p: reverse("machines:delete", args=[p["vm"].pk]),
        lambda p: reverse("machines:assign", args=[p["vm"].pk]),
        lambda p: reverse("machines:reveal", args=[p["vm"].pk]),
        lambda p: reverse("bookmarks:list"),
        lambda p: reverse("bookmarks:edit", args=[p["bookmark"].pk]),
        lambda p: reverse("bookmarks:delete", args=[p["bookmark"].pk]),
        lambda p: reverse("people:user_list"),
        lambda p: reverse("people:user_detail", args=[p["user"].pk]),
    ],
    ids=[
        "dashboard",
        "vm-detail",
        "vm-edit",
        "vm-delete",
        "vm-assign",
        "vm-reveal",
        "bookmark-list",
        "bookmark-edit",
        "bookmark-delete",
        "user-list",
        "user-detail",
    ],
)
def test_stored_payloads_are_shown_escaped(client, stored_payloads, page):
    assert_escaped(client.get(page(stored_payloads)))


def test_the_ssh_config_download_is_plain_text_not_html(client, stored_payloads):
    response = client.get(reverse("machines:ssh_config", args=[stored_payloads["vm"].pk]))

    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"].startswith("attachment")


def test_the_bookmark_export_escapes_names_and_descriptions(client, stored_payloads):
    response = client.get(reverse("bookmarks:export"))

    text = response.content.decode()
    assert SCRIPT not in text
    assert "&lt;script&gt;" in text


@pytest.mark.parametrize("link", [JS_LINK, "JAVASCRIPT:alert(1)", "data:text/html,<script>alert(1)</script>"])
def test_a_script_link_is_rejected_with_a_message(client, manager, link):
    response = client.post(reverse("bookmarks:create"), {"name": "x", "link": link, "tags": "", "description": ""})

    assert response.status_code == 200
    assert "http://" in response.text and "https://" in response.text
    assert not Bookmark.objects.exists()


@pytest.mark.parametrize("field", ["host", "username"])
@pytest.mark.parametrize("payload", [SCRIPT, JS_LINK, ATTRIBUTE_BREAKER])
def test_a_vm_host_or_ssh_username_with_markup_is_rejected(client, manager, field, payload):
    data = {"name": "vm", "host": "vm.lab.example", "port": 22, "username": "ubuntu", field: payload}

    response = client.post(reverse("machines:create"), data)

    assert response.status_code == 200
    assert SCRIPT not in response.text
    assert not VirtualMachine.objects.exists()


def test_a_vm_named_with_markup_is_stored_and_shown_escaped(client, manager):
    data = {"name": SCRIPT, "host": "vm.lab.example", "port": 22, "username": "ubuntu"}

    response = client.post(reverse("machines:create"), data, follow=True)

    assert VirtualMachine.objects.get().name == SCRIPT
    assert_escaped(response)


@pytest.mark.parametrize("payload", [SCRIPT, JS_LINK])
def test_registration_rejects_markup_in_usernames_and_escapes_names(client, payload):
    data = {
        "username": payload,
        "email": "new@lab.example",
        "first_name": SCRIPT,
        "last_name": SCRIPT,
        "password1": "a-long-Passphrase-91",
        "password2": "a-long-Passphrase-91",
    }

    response = client.post(reverse("accounts:register"), data)

    assert response.status_code == 200
    assert SCRIPT not in response.text
    assert not User.objects.filter(email="new@lab.example").exists()


def test_profile_names_with_markup_are_saved_and_shown_escaped(client, manager):
    data = {"username": manager.username, "email": manager.email, "first_name": SCRIPT, "last_name": SCRIPT}

    response = client.post(reverse("accounts:profile"), data, follow=True)

    manager.refresh_from_db()
    assert manager.first_name == SCRIPT
    assert SCRIPT not in response.text


def test_audit_rows_show_stored_payloads_escaped(client):
    client.force_login(UserFactory(role=Role.ADMIN))
    AuditEvent.objects.create(
        actor=None,
        actor_label=SCRIPT,
        action=Action.VM_UPDATE,
        target_type="machines.virtualmachine",
        target_id="999999",
        target_label=SCRIPT + ATTRIBUTE_BREAKER,
        user_agent=SCRIPT + ATTRIBUTE_BREAKER,
        details={SCRIPT: [SCRIPT, ATTRIBUTE_BREAKER]},
    )

    assert_escaped(client.get(reverse("audit:event_list")))


def test_a_select_option_with_markup_is_escaped(client, manager):
    UserFactory(role=Role.REGULAR, username=SCRIPT + ATTRIBUTE_BREAKER)
    vm = VirtualMachineFactory(owner=manager)

    response = client.get(reverse("machines:assign", args=[vm.pk]))

    assert_escaped(response)
    assert f">{ESCAPED_SCRIPT}&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</option>" in response.text
