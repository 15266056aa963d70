"""POST /api/v1/vms/import/: the VM page's import (machines.imports) for scripts, preview first."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from access.roles import Role
from accounts.models import TokenScope
from accounts.tests.factories import UserFactory
from api.tests.conftest import bearer
from audit.models import Action, AuditEvent
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/vms/import/"
CSV = b"name,host,port,username,password\nweb,web.lab.example,22,ubuntu,\ndb,db.lab.example,2222,postgres,pg-pass-42\n"


def send(client, content=CSV, name="vms.csv", **fields):
    return client.post(URL, {"file": SimpleUploadedFile(name, content), **fields}, format="multipart")


def test_a_dry_run_previews_each_row_and_writes_nothing(sidekick):
    response = send(bearer(sidekick))

    report = response.json()
    assert response.status_code == 200
    assert [(row["name"], row["action"], row["sets_password"]) for row in report["rows"]] == [
        ("web", "create", False),
        ("db", "create", True),
    ]
    assert (report["applied"], report["counts"]["create"]) == (False, 2)
    assert "pg-pass-42" not in response.content.decode()
    assert not VirtualMachine.objects.exists()


def test_applying_the_preview_creates_the_vms_with_their_secret_and_one_audit_row(sidekick):
    client = bearer(sidekick)
    preview = send(client).json()["preview"]

    response = send(client, dry_run="false", preview=preview)

    assert (response.status_code, response.json()["applied"]) == (200, True)
    assert VirtualMachine.objects.get(name="db", owner=sidekick).password == "pg-pass-42"
    assert AuditEvent.objects.get(action=Action.VM_IMPORT).details["created"] == 2


def test_a_vm_changed_since_the_preview_is_a_409_with_the_new_preview_and_nothing_written(sidekick):
    vm = VirtualMachineFactory(owner=sidekick, name="web", host="web.lab.example", username="ubuntu", shared=True)
    client = bearer(sidekick)
    preview = send(client, b"name,host,username,shared\nweb,web.lab.example,ubuntu,false\n").json()["preview"]
    VirtualMachine.objects.filter(pk=vm.pk).update(name="renamed meanwhile")

    response = send(
        client, b"name,host,username,shared\nweb,web.lab.example,ubuntu,false\n", dry_run="false", preview=preview
    )

    body = response.json()["error"]
    assert (response.status_code, body["code"]) == (409, "changed")
    assert body["report"]["rows"][0]["action"] == "update"
    assert VirtualMachine.objects.get(pk=vm.pk).shared is True


def test_rows_in_error_are_a_400_with_the_report_and_nothing_is_written(sidekick):
    response = send(
        bearer(sidekick),
        b"name,host,port,username\nok,ok.lab.example,22,lab\nbad,bad.lab.example,0,lab\n",
        dry_run="false",
    )

    body = response.json()["error"]
    assert (response.status_code, body["code"]) == (400, "rows")
    assert [row["action"] for row in body["report"]["rows"]] == ["create", "error"]
    assert "greater than or equal to 1" in " ".join(body["report"]["rows"][1]["reasons"])
    assert not VirtualMachine.objects.exists()


def test_a_file_that_cannot_be_read_is_refused_on_the_file_field(sidekick):
    response = send(bearer(sidekick), b"name;host\nweb;web.lab.example\n")

    assert response.status_code == 400
    assert "separated by “;”" in response.json()["error"]["fields"]["file"][0]


def test_a_format_the_name_does_not_tell_must_be_given(sidekick):
    unnamed = send(bearer(sidekick), name="vms.txt")
    given = send(bearer(sidekick), name="vms.txt", format="csv")

    assert (unnamed.status_code, list(unnamed.json()["error"]["fields"])) == (400, ["format"])
    assert given.status_code == 200


def test_only_admins_import_for_someone_else(sidekick):
    other = UserFactory(username="meg", role=Role.SIDEKICK)
    admin = UserFactory(role=Role.ADMIN)

    refused = send(bearer(sidekick), owner="meg", dry_run="false")
    unknown = send(bearer(admin), owner="nobody-here")
    applied = send(bearer(admin), owner="meg", dry_run="false")

    assert refused.status_code == 403
    assert (unknown.status_code, list(unknown.json()["error"]["fields"])) == (400, ["owner"])
    assert applied.status_code == 200
    assert VirtualMachine.objects.filter(owner=other).count() == 2


def test_a_read_token_may_not_import(sidekick):
    assert send(bearer(sidekick, TokenScope.READ)).status_code == 403
