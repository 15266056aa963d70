"""The import pages (upload, preview, apply, discard) and the export page."""

import csv
import io
import json
import logging
from io import StringIO
from uuid import uuid4

import pytest
import yaml
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from machines import services
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory
from machines.views.import_export import PENDING
from vmlab.tests.leakscan import leaks, needles, response_places, row_places

pytestmark = pytest.mark.django_db

IMPORT, APPLY, DISCARD, EXPORT = (
    reverse(f"machines:{name}") for name in ("import", "import_apply", "import_discard", "export")
)


def upload(client, content: bytes, name: str = "vms.csv", **options):
    return client.post(IMPORT, {"file": SimpleUploadedFile(name, content), "match": "address", **options})


def applied(client, page):
    return client.post(APPLY, {"preview": page.context["report"].preview}, follow=True)


@pytest.fixture
def sidekick(client):
    user = UserFactory(username="sid", role=Role.SIDEKICK)
    client.force_login(user)
    return user


def test_the_new_vm_page_leads_to_the_import_and_the_dashboard_to_the_export(client, sidekick):
    assert IMPORT in client.get(reverse("machines:create")).text
    assert EXPORT in client.get(reverse("dashboard")).text


def test_a_preview_shows_each_row_writes_nothing_and_apply_writes_it(client, sidekick):
    VirtualMachineFactory(owner=sidekick, name="db", host="db.example", username="pg")
    page = upload(client, b"name,host,port,username,password\nweb,web.example,22,u,pw\ndb,db.example,22,pg,\n")

    assert page.status_code == 200
    assert page.context["counts"] == {"create": 1, "update": 0, "unchanged": 1, "skip": 0, "error": 0}
    assert ">Apply</button>" in page.text
    assert VirtualMachine.objects.count() == 1

    done = applied(client, page)

    assert done.redirect_chain[-1][0] == reverse("dashboard")
    assert "Import applied: 1 created, 0 updated, 1 unchanged." in done.text
    assert VirtualMachine.objects.get(name="web").password == "pw"
    assert PENDING not in client.session


def test_a_preview_with_errors_offers_no_apply_and_says_why(client, sidekick):
    page = upload(client, b"name,host,port,username\nweb,web.example,0,u\n")

    assert ">Apply</button>" not in page.text
    assert "Nothing can be imported while a row has errors" in page.text
    assert "port: Ensure this value is greater than or equal to 1." in page.text


def test_a_file_that_cannot_be_read_is_refused_on_the_form(client, sidekick):
    page = upload(client, b"name;host;username\nweb;web.example;u\n")

    assert page.status_code == 200
    assert page.context["form"].errors["file"][0].startswith("The columns of this file are separated by “;”")


def test_the_format_is_told_from_the_name_or_chosen(client, sidekick):
    unknown = upload(client, b"- {host: a.example, username: u, name: a}\n", name="vms.txt")
    chosen = upload(client, b"- {host: a.example, username: u, name: a}\n", name="vms.txt", format="yaml")

    assert unknown.context["form"].errors["format"] == [
        "VM Lab cannot tell the format of “vms.txt” from its name: choose it."
    ]
    assert chosen.context["report"].file_format == "yaml"


def test_applying_after_the_vms_changed_shows_the_new_preview_and_writes_nothing(client, sidekick):
    vm = VirtualMachineFactory(owner=sidekick, name="web", host="web.example", username="u")
    page = upload(client, b"name,host,port,username\nnew,new.example,22,u\nweb,web.example,22,u\n")
    services.vm_update(vm=vm, actor=sidekick, name="changed meanwhile")

    refused = client.post(APPLY, {"preview": page.context["report"].preview})

    assert refused.status_code == 409
    assert "The VMs changed after this preview was made, so nothing was written." in refused.text
    assert [row.action for row in refused.context["report"].rows] == ["create", "update"]
    assert not VirtualMachine.objects.filter(name="new").exists()

    again = applied(client, refused)

    assert "Import applied: 1 created, 1 updated, 0 unchanged." in again.text
    assert VirtualMachine.objects.get(pk=vm.pk).name == "web"


def test_apply_without_a_preview_or_with_another_one_is_refused(client, sidekick):
    page = upload(client, b"name,host,port,username\nnew,new.example,22,u\n")

    stale = client.post(APPLY, {"preview": "0" * 64}, follow=True)
    applied(client, page)
    twice = client.post(APPLY, {"preview": page.context["report"].preview}, follow=True)

    for response in (stale, twice):
        assert response.redirect_chain[-1][0] == IMPORT
        assert "There is no preview to apply" in response.text
    assert VirtualMachine.objects.count() == 1


def test_discarding_forgets_the_file(client, sidekick):
    page = upload(client, b"name,host,port,username\nnew,new.example,22,u\n")

    discarded = client.post(DISCARD, follow=True)

    assert "The import was discarded: nothing was written." in discarded.text
    assert PENDING not in client.session
    assert client.post(APPLY, {"preview": page.context["report"].preview}).status_code == 302
    assert not VirtualMachine.objects.exists()


def test_the_file_waits_in_the_session_encrypted(client, sidekick):
    password = f"pw-{uuid4().hex}"
    upload(client, f"name,host,port,username,password\nweb,web.example,22,u,{password}\n".encode())

    stored = Session.objects.get(session_key=client.session.session_key)

    assert password not in stored.get_decoded()[PENDING]["file"]
    assert password[:16] not in json.dumps(stored.get_decoded())


def test_a_regular_user_may_export_but_not_import(client):
    client.force_login(UserFactory(role=Role.REGULAR))

    assert client.get(IMPORT).status_code == 404
    assert client.post(APPLY).status_code == 404
    assert client.get(EXPORT).status_code == 200


def test_only_admins_choose_another_owner(client, sidekick, admin):
    assert "owner" not in client.get(IMPORT).context["form"].fields
    client.force_login(admin)

    page = upload(client, b"name,host,port,username\nweb,web.example,22,u\n", owner=sidekick.pk)
    applied(client, page)

    assert page.context["report"].owner == "sid"
    assert VirtualMachine.objects.get(name="web").owner == sidekick


# --- Export -----------------------------------------------------------------------------------------------------------


def export(client, file_format):
    return client.get(EXPORT, {"format": file_format})


@pytest.mark.parametrize(
    ("file_format", "content_type", "suffix"),
    [
        ("csv", "text/csv; charset=utf-8", "csv"),
        ("json", "application/json", "json"),
        ("yaml", "application/yaml; charset=utf-8", "yaml"),
        ("ssh_config", "text/plain; charset=utf-8", "ssh-config"),
    ],
)
def test_the_export_is_a_download_of_the_vms_the_user_sees(client, sidekick, file_format, content_type, suffix):
    VirtualMachineFactory(owner=sidekick, name="mine", host="m.example")
    VirtualMachineFactory(name="assigned to me", host="a.example", assigned_to=sidekick)
    VirtualMachineFactory(name="not mine", host="n.example", shared=True)

    response = export(client, file_format)

    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"].startswith('attachment; filename="vmlab-vms-')
    assert response["Content-Disposition"].endswith(f'.{suffix}"')
    assert "m.example" in response.text and "a.example" in response.text
    assert "n.example" not in response.text


def test_the_export_page_offers_the_formats(client, sidekick):
    page = client.get(EXPORT)

    assert page.status_code == 200
    assert [value for value, _label in page.context["form"].fields["format"].choices] == [
        "csv", "json", "yaml", "ssh_config"
    ]  # fmt: skip
    assert client.get(EXPORT, {"format": "xlsx"}).status_code == 200  # the page again, with the error


def test_a_csv_export_neutralises_formulas_and_imports_back_unchanged(client, sidekick):
    VirtualMachineFactory(owner=sidekick, name='=HYPERLINK("http://evil")', host="f.example")
    VirtualMachineFactory(owner=sidekick, name="+1", host="g.example")

    text = export(client, "csv").content.decode("utf-8-sig")
    names = [row["name"] for row in csv.DictReader(io.StringIO(text))]
    page = upload(client, text.encode())

    assert names == ["'+1", '\'=HYPERLINK("http://evil")']
    assert page.context["counts"]["unchanged"] == 2


@pytest.mark.parametrize("file_format", ["json", "yaml"])
def test_json_and_yaml_exports_hold_plain_values(client, sidekick, file_format):
    VirtualMachineFactory(owner=sidekick, name="web", host="w.example", port=2222, shared=False)
    load = json.loads if file_format == "json" else yaml.safe_load

    assert load(export(client, file_format).text) == [
        {"name": "web", "host": "w.example", "port": 2222, "username": "labuser", "shared": False}
        | {"assigned_to": None, "owner": "sid"}
    ]


# --- Secrets: never out, whatever the path ----------------------------------------------------------------------------


def test_secrets_imported_through_the_pages_and_the_command_never_leak(
    client, sidekick, responses, every_logger, ssh_private_key, tmp_path
):
    web_password, db_password, command_password = (f"pw-{label}-{uuid4().hex}" for label in ("web", "db", "cmd"))
    secrets = needles(
        passwords={"web password": web_password, "db password": db_password, "command password": command_password},
        keys={"SSH key": ssh_private_key},
    )
    data = json.dumps(
        [
            {"name": "web", "host": "web.example", "username": "u", "password": web_password},
            {"name": "db", "host": "db.example", "username": "u", "password": db_password, "ssh_key": ssh_private_key},
        ]
    ).encode()
    applied(client, upload(client, data, name="vms.json"))
    upload(client, data.replace(b"db.example", b"exa mple"), name="vms.json")  # a preview with an error row
    client.post(DISCARD)
    for file_format in ("csv", "json", "yaml", "ssh_config"):
        export(client, file_format)
    (tmp_path / "vms.csv").write_text(f"name,host,port,username,password\ncmd,c.example,22,u,{command_password}\n")
    call_command("import_vms", str(tmp_path / "vms.csv"), "--owner", "sid", stdout=(out := StringIO()))
    client.force_login(UserFactory(role=Role.ADMIN))
    client.get(reverse("audit:event_list"))
    dump = StringIO()
    call_command("dumpdata", "machines", "audit", "sessions", stdout=dump)

    assert VirtualMachine.objects.get(name="db").ssh_key == ssh_private_key
    assert AuditEvent.objects.filter(action=Action.VM_IMPORT).count() == 2
    places = [
        *response_places(responses),
        *((f"log {record.name}", logging.Formatter().format(record)) for record in every_logger.records),
        *row_places(AuditEvent),
        *(
            (f"session {session.pk}", f"{session.session_data} {session.get_decoded()}")
            for session in Session.objects.all()
        ),
        ("dumpdata", dump.getvalue()),
        ("command output", out.getvalue()),
    ]
    in_the_file = {name for _where, name in leaks([("the file", data.decode())], secrets)}
    assert {"web password", "db password", "SSH key (line 2)"} <= in_the_file  # the scan finds what is there
    found = leaks(places, secrets)
    assert not found, "\n".join(f"{name} in {where}" for where, name in found)
