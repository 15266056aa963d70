"""The terminal page: for those who may see the VM, with the vendored xterm.js and no secret in it."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from connect.consumers import TerminalConsumer
from connect.routing import terminal_socket_path, websocket_urlpatterns
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

VM_PASSWORD = "terminal-page-vm-password-3"


@pytest.fixture
def vm(vm_owner, ssh_private_key):
    return VirtualMachineFactory(
        owner=vm_owner,
        name="Build Box",
        host="build.lab.example",
        port=2200,
        username="builder",
        password=VM_PASSWORD,
        ssh_key=ssh_private_key,
        assigned_to=UserFactory(role=Role.REGULAR),
    )


def terminal_url(vm_or_pk):
    return reverse("connect:terminal", args=[getattr(vm_or_pk, "pk", vm_or_pk)])


def csp_directives(response):
    parts = (part.strip().split(None, 1) for part in response.headers["Content-Security-Policy"].split(";"))
    return dict(parts)


def test_the_owner_gets_the_terminal_page(client, vm):
    client.force_login(vm.owner)
    response = client.get(terminal_url(vm))

    assert response.status_code == 200
    for shown in ("Build Box", "build.lab.example", "2200", "builder", "Copy selection", "Paste", "Reconnect"):
        assert shown in response.text
    assert 'data-terminal="disconnect"' in response.text


def test_the_page_links_to_the_files_and_back_to_the_vm(client, vm):
    client.force_login(vm.owner)
    text = client.get(terminal_url(vm)).text

    assert f'<a class="btn" href="{reverse("connect:files", args=[vm.pk])}">Files</a>' in text
    assert f'href="{reverse("machines:detail", args=[vm.pk])}">Back to the VM</a>' in text


def test_who_may_edit_the_vm_gets_the_reset_link_for_a_changed_host_key(client, vm):
    reset = reverse("connect:reset_host_key", args=[vm.pk])
    client.force_login(vm.owner)
    owners = client.get(terminal_url(vm)).text
    client.force_login(vm.assigned_to)
    assignees = client.get(terminal_url(vm)).text

    assert 'id="terminal-host-key-changed"' in owners
    assert reset in owners
    assert reset not in assignees
    assert "Only the VM's owner" in assignees
    assert f'href="{reverse("machines:detail", args=[vm.pk])}">VM page</a>' in assignees


def test_without_javascript_the_page_says_the_terminal_needs_it(client, vm):
    client.force_login(vm.owner)
    text = client.get(terminal_url(vm)).text

    noscript = re.search(r"<noscript>(.*?)</noscript>", text, re.DOTALL)
    assert noscript
    assert "needs JavaScript" in noscript.group(1)


def test_the_assignee_gets_the_terminal_page(client, vm):
    client.force_login(vm.assigned_to)

    assert client.get(terminal_url(vm)).status_code == 200


def test_other_users_and_forged_ids_get_404(client, vm):
    client.force_login(UserFactory(role=Role.SIDEKICK))

    assert client.get(terminal_url(vm)).status_code == 404
    assert client.get(terminal_url(vm.pk + 1000)).status_code == 404


def test_visitors_are_sent_to_the_login_page(client, vm):
    response = client.get(terminal_url(vm))

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_the_page_names_its_websocket_and_loads_the_vendored_scripts_only(client, vm):
    client.force_login(vm.owner)
    text = client.get(terminal_url(vm)).text

    assert f'data-socket-path="/ws/machines/{vm.pk}/terminal/"' in text
    assert f'data-socket-path="{terminal_socket_path(vm.pk)}"' in text
    for path in ("vendor/xterm/xterm.js", "vendor/xterm/addon-fit.js", "js/terminal.js", "vendor/xterm/xterm.css"):
        assert f"{settings.STATIC_URL}{path}" in text
    assert "cdn" not in text.lower()
    assert "https://" not in text


def test_the_socket_path_given_to_the_page_is_the_route_of_the_consumer():
    [route] = websocket_urlpatterns
    match = route.resolve(terminal_socket_path(42).lstrip("/"))

    assert match.func.consumer_class is TerminalConsumer
    assert match.kwargs == {"pk": 42}


def test_the_page_holds_no_secret(client, vm):
    client.force_login(vm.owner)
    text = client.get(terminal_url(vm)).text

    assert VM_PASSWORD not in text
    assert "PRIVATE KEY" not in text


def test_only_the_terminal_page_allows_inline_styles_and_scripts_stay_self(client, vm):
    client.force_login(vm.owner)
    terminal = csp_directives(client.get(terminal_url(vm)))
    detail = csp_directives(client.get(reverse("machines:detail", args=[vm.pk])))

    assert terminal["style-src"] == "'self' 'unsafe-inline'"
    assert terminal["script-src"] == "'self'"
    assert detail["style-src"] == "'self'"
    assert {name: value for name, value in terminal.items() if name != "style-src"} == {
        name: value for name, value in detail.items() if name != "style-src"
    }


def test_the_page_itself_has_no_inline_script_or_style(client, vm):
    client.force_login(vm.owner)
    text = client.get(terminal_url(vm)).text

    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text, re.IGNORECASE)
    assert not re.search(r"<style\b|\sstyle\s*=|\son[a-z]+\s*=", text, re.IGNORECASE)


def test_post_is_not_allowed(client, vm):
    client.force_login(vm.owner)

    assert client.post(terminal_url(vm)).status_code == 405
