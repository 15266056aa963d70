"""manage.py import_vms: the portal's import for operators, the preview printed as a table."""

import getpass
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

FILE = "name,host,port,username,password\nweb,web.lab.example,22,ubuntu,pw-1\ndb,db.lab.example,2222,pg,\n"


@pytest.fixture
def owner(db):
    return UserFactory(username="mgarcia", role=Role.SIDEKICK)


def run(*args) -> str:
    out = StringIO()
    call_command("import_vms", *args, stdout=out)
    return out.getvalue()


def test_it_prints_the_preview_and_imports_into_the_owners_vms(owner, tmp_path):
    (tmp_path / "vms.csv").write_text(FILE)

    output = run(str(tmp_path / "vms.csv"), "--owner", "MGarcia")

    assert output.splitlines() == [
        "row  action  name  connection                 shared  assigned_to  owner    secrets",
        "2    create  web   ubuntu@web.lab.example:22  yes                  mgarcia  password",
        "3    create  db    pg@db.lab.example:2222     yes                  mgarcia",
        "Imported: 2 created, 0 updated, 0 unchanged, 0 skipped, 0 with errors.",
    ]
    assert set(VirtualMachine.objects.owned_by(owner).values_list("name", flat=True)) == {"web", "db"}


def test_its_audit_row_names_the_operating_system_user(owner, tmp_path):
    (tmp_path / "vms.csv").write_text(FILE)

    run(str(tmp_path / "vms.csv"), "--owner", "mgarcia")

    event = AuditEvent.objects.get(action=Action.VM_IMPORT)
    assert (event.actor, event.actor_label, event.target_label) == (None, f"{getpass.getuser()} (manage.py)", "mgarcia")
    assert event.details["created"] == 2
    assert set(AuditEvent.objects.filter(action=Action.VM_CREATE).values_list("actor", flat=True)) == {owner.pk}


def test_a_dry_run_writes_nothing(owner, tmp_path):
    VirtualMachineFactory(owner=owner, name="db", host="db.lab.example", port=2222, username="pg")
    (tmp_path / "vms.csv").write_text(FILE)

    output = run(str(tmp_path / "vms.csv"), "--owner", "mgarcia", "--dry-run")

    assert (
        output.splitlines()[-1]
        == "Dry run: 1 to create, 0 to update, 1 unchanged, 0 skipped, 0 with errors; nothing was written."
    )
    assert VirtualMachine.objects.count() == 1
    assert not AuditEvent.objects.exists()


def test_an_error_row_fails_the_command_and_writes_nothing(owner, tmp_path):
    (tmp_path / "vms.csv").write_text(FILE + "bad,bad host,0,u,\n")

    with pytest.raises(CommandError) as failed:
        run(str(tmp_path / "vms.csv"), "--owner", "mgarcia")

    assert str(failed.value).splitlines() == [
        "2 to create, 0 to update, 0 unchanged, 0 skipped, 1 with errors: nothing was written. Correct these rows and "
        "run it again:",
        "row 4: port: Ensure this value is greater than or equal to 1.",
        "row 4: host: Enter a valid host name, IPv4 or IPv6 address (e.g. vm1.lab.example.org or 10.0.0.5).",
    ]
    assert not VirtualMachine.objects.exists()
    assert not AuditEvent.objects.exists()


def test_options_give_the_format_and_the_matching(owner, tmp_path):
    VirtualMachineFactory(owner=owner, name="web", host="old.lab.example", username="u")
    (tmp_path / "lab.txt").write_text("- {name: web, host: new.lab.example, username: u}\n")

    output = run(str(tmp_path / "lab.txt"), "--owner", "mgarcia", "--format", "yaml", "--match", "name")

    assert "changes: host" in output
    assert VirtualMachine.objects.get(name="web").host == "new.lab.example"


def test_ssh_config_entries_skipped_and_notes_are_printed(owner, tmp_path):
    (tmp_path / "config").write_text("Host web\n  HostName w.lab.example\n  User u\n  IdentityFile ~/.ssh/id\nHost *\n")

    output = run(str(tmp_path / "config"), "--owner", "mgarcia", "--dry-run")

    assert "5     skip" in output
    assert "    IdentityFile ~/.ssh/id was not read" in output
