"""Known secrets through every API flow that handles them: they come out nowhere but the one deliberate reveal
(responses, every log record, audit rows, lockout rows, token rows, dumpdata), as for the pages."""

import logging
from io import StringIO
from uuid import uuid4

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.core.management import call_command
from rest_framework.test import APIClient

from access.roles import Role
from accounts.models import ApiToken
from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from vmlab.tests.leakscan import leaks, needles, row_places

pytestmark = pytest.mark.django_db


def test_secrets_sent_to_the_api_never_leak(every_logger, ssh_private_key, rsa_pem_private_key):
    account, vm_password, new_password = f"Acct-{uuid4().hex}", f"Vm-{uuid4().hex}", f"Vm-New-{uuid4().hex}"
    wrong = f"Wrong-{uuid4().hex}"
    owner = UserFactory(role=Role.MANAGER, password=account)
    browser = APIClient()
    browser.force_login(owner)
    plaintext = browser.post("/api/v1/tokens/", {"name": "leak", "scope": "write"}, format="json").json()["token"]
    browser.logout()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    secrets = needles(
        passwords={"VM password": vm_password, "new VM password": new_password, "account": account, "wrong": wrong}
        | {"token": plaintext},
        keys={"SSH key": ssh_private_key, "new SSH key": rsa_pem_private_key},
    )
    received = []

    def send(method, url, body=None):
        response = getattr(client, method)(url, body, format="json")
        received.append((f"{method} {url} {response.status_code}", f"{response.headers!r}\n{response.text}"))
        return response

    vm = send("post", "/api/v1/vms/", {"name": "leak", "host": "leak.lab.example", "username": "lab"} | {
        "password": vm_password, "ssh_key": ssh_private_key})  # fmt: skip
    url = f"/api/v1/vms/{vm.json()['id']}/"
    send("patch", url, {"password": new_password, "ssh_key": rsa_pem_private_key, "port": 2222})
    send("patch", url, {"ssh_key": "-----BEGIN OPENSSH PRIVATE KEY-----\n" + vm_password})  # refused, named
    send("post", url + "reveal/", {"password": wrong, "secret": "password"})
    revealed = client.post(url + "reveal/", {"password": account, "secret": "password"}, format="json")
    for path in (url, "/api/v1/vms/", "/api/v1/vms/ssh-config/", "/api/v1/audit/", "/api/v1/tokens/", "/api/v1/me/"):
        send("get", path)
    dump = StringIO()
    call_command("dumpdata", stdout=dump)

    assert vm.status_code == 201
    assert revealed.json()["value"] == new_password  # the scan below would find it here: the needles work
    assert {name for _where, name in leaks([("reveal", revealed.text)], secrets)} >= {"new VM password"}
    places = [
        *received,
        *((f"log {record.name}", logging.Formatter().format(record)) for record in every_logger.records),
        *row_places(AuditEvent, AccessAttempt, AccessFailureLog, ApiToken),
        ("dumpdata", dump.getvalue()),
    ]
    found = leaks(places, secrets)
    assert not found, "\n".join(f"{name} in {where}" for where, name in found)
