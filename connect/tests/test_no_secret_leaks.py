"""Connecting uses a VM's password and key on the server only: they never come out in a page, a WebSocket
message, a log record (all loggers at DEBUG, asyncssh's included), an audit row or a dump."""

import logging
import uuid
from io import StringIO
from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEvent
from connect.tests.browser import Browser, socket_path
from connect.tests.sshserver import PASSWORD
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory
from vmlab.tests.leakscan import leaks, needles, response_places, row_places

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("thread_db_connections_closed"),
]

WRONG_VM_PASSWORD = "wrong-vm-password-" + uuid.uuid4().hex


def use_every_http_page(owner, admin, vms, ssh_server) -> None:
    """Every page that connects, as the owner; then the admin's views of the same VMs."""
    password_vm, key_vm, wrong_vm, new_vm = vms
    browser, admin_browser = Client(), Client()
    browser.force_login(owner)
    directory = ssh_server.root / f"leak-{uuid.uuid4().hex[:12]}"
    directory.mkdir()
    (directory / "notes.txt").write_bytes(b"remote notes")
    remote = f"/{directory.name}"
    for vm in vms:
        browser.post(reverse("connect:test_connection", args=[vm.pk]))
        browser.get(reverse("machines:detail", args=[vm.pk]))
        browser.get(reverse("connect:terminal", args=[vm.pk]))
    trusted = browser.post(
        reverse("connect:trust_host_key", args=[new_vm.pk]), {"fingerprint": ssh_server.host_key_fingerprint}
    )
    assert trusted.status_code == 200  # the test runs again at once, with the key now trusted
    for vm in (password_vm, key_vm, wrong_vm):
        browser.get(reverse("connect:files", args=[vm.pk]) + f"?path={quote(remote)}", follow=True)
    upload = {"file": SimpleUploadedFile("uploaded.txt", b"uploaded bytes"), "directory": remote}
    browser.post(reverse("connect:file_upload", args=[key_vm.pk]), upload, follow=True)
    download = browser.get(reverse("connect:file_download", args=[password_vm.pk]) + f"?path={remote}/notes.txt")
    assert b"".join(download.streaming_content) == b"remote notes"
    browser.post(reverse("connect:reset_host_key", args=[new_vm.pk]), follow=True)
    admin_browser.force_login(admin)
    for vm in vms:
        admin_browser.get(reverse("admin:machines_virtualmachine_change", args=[vm.pk]))
    admin_browser.get(reverse("admin:machines_virtualmachine_changelist"))
    admin_browser.get(reverse("audit:event_list"))


async def use_the_terminal(vm, owner) -> Browser:
    client = Client()
    await sync_to_async(client.force_login)(owner)
    tab = Browser(socket_path(vm), client.cookies["sessionid"].value)
    assert await tab.open()
    await tab.output_shows("$ ")
    await tab.type("whoami\r")
    await tab.output_shows("bob")
    await tab.type("exit\r")
    await tab.closed()
    await tab.leave()
    return tab


async def test_vm_secrets_never_leak_while_connecting(every_logger, responses, ssh_server, vm_owner, admin):
    make_vm = sync_to_async(VirtualMachineFactory)
    address = {"owner": vm_owner, "host": ssh_server.host, "port": ssh_server.port}
    trusted = {"host_key": ssh_server.host_key_line, "host_key_fingerprint": ssh_server.host_key_fingerprint}
    vms = [
        await make_vm(username="alice", password=PASSWORD, **address, **trusted),
        await make_vm(username="bob", ssh_key=ssh_server.client_key_pem, **address, **trusted),
        await make_vm(username="alice", password=WRONG_VM_PASSWORD, **address, **trusted),
        await make_vm(username="alice", password=PASSWORD, **address),
    ]
    secrets = needles(
        passwords={"VM password": PASSWORD, "wrong VM password": WRONG_VM_PASSWORD},
        keys={"VM SSH key": ssh_server.client_key_pem},
    )

    await sync_to_async(use_every_http_page)(vm_owner, admin, vms, ssh_server)
    tab = await use_the_terminal(vms[1], vm_owner)
    dump = StringIO()
    await sync_to_async(call_command)("dumpdata", stdout=dump)

    # The flows happened, so the scan below looks at real traces of them.
    actions = await sync_to_async(lambda: set(AuditEvent.objects.values_list("action", flat=True)))()
    assert {
        Action.VM_CONNECTION_TEST, Action.VM_HOST_KEY_TRUST, Action.VM_HOST_KEY_RESET, Action.VM_TERMINAL,
        Action.VM_FILE_UPLOAD, Action.VM_FILE_DOWNLOAD,
    } <= actions  # fmt: skip
    results = await sync_to_async(
        lambda: set(
            AuditEvent.objects.filter(action=Action.VM_CONNECTION_TEST).values_list("details__result", flat=True)
        )
    )()
    assert {"ok", "auth_failed", "host_key_unknown"} <= results
    records = every_logger.records
    assert any(record.name.startswith("asyncssh") for record in records)
    # The scan finds a secret where there is one: the server's own copy of the VM's key.
    assert leaks([("the VM's key", ssh_server.client_key_pem)], secrets)

    places = [
        *response_places(responses),
        ("terminal output", tab.output.decode(errors="replace")),
        *(("terminal message", repr(message)) for message in tab.controls),
        *((f"log {record.name}", logging.Formatter().format(record)) for record in records),
        *await sync_to_async(row_places)(AuditEvent, VirtualMachine),
        ("dumpdata", dump.getvalue()),
    ]
    found = leaks(places, secrets)
    assert not found, "\n".join(f"{name} in {where}" for where, name in found)
