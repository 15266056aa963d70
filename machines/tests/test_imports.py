"""machines.imports: what a file's rows do (matching, validation, rights), and that applying writes all or nothing."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from machines import imports, services
from machines.imports import ImportChanged, vms_import, vms_import_apply, vms_import_preview
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory
from machines.tests.keys import PASSPHRASE_PROTECTED_KEY
from machines.vm_files import writing
from machines.vm_files.columns import CSV, FORMATS, JSON, SSH_CONFIG, YAML, FileRefused

pytestmark = pytest.mark.django_db


def csv_file(*rows: str, header: str = "name,host,port,username") -> bytes:
    return "\n".join([header, *rows]).encode()


def preview(actor, data, file_format=CSV, **options):
    return vms_import_preview(actor=actor, data=data, file_format=file_format, **options)


def apply(actor, data, file_format=CSV, **options):
    return vms_import_apply(actor=actor, data=data, file_format=file_format, **options)


def actions(report) -> list[str]:
    return [row.action for row in report.rows]


def reasons(report) -> list[tuple[str, ...]]:
    return [row.reasons for row in report.rows]


def vm_rows():
    """Every VM as stored (secrets as ciphertext, nothing decrypted)."""
    return list(VirtualMachine.objects.order_by("pk").values())


@pytest.fixture
def sidekick(db):
    return UserFactory(username="sid", role=Role.SIDEKICK)


@pytest.fixture
def manager(db):
    return UserFactory(username="meg", role=Role.MANAGER)


@pytest.fixture
def regular(db):
    return UserFactory(username="reggie", role=Role.REGULAR)


# --- Creating, and re-importing ---------------------------------------------------------------------------------------


def test_new_rows_are_created_with_the_importer_as_owner_and_their_secrets_encrypted(sidekick, ssh_private_key):
    key = ssh_private_key.replace("\n", "\r\n")
    data = json.dumps(
        [
            {"name": "web", "host": "web.lab.example", "username": "ubuntu", "password": "pw-web"},
            {"name": "db", "host": "db.lab.example", "port": 2222, "username": "pg", "shared": False, "ssh_key": key},
        ]
    ).encode()

    report = apply(sidekick, data, JSON)

    assert report.applied and actions(report) == ["create", "create"]
    web, db = VirtualMachine.objects.order_by("-name")
    assert (web.owner, web.port, web.shared, web.password, web.ssh_key) == (sidekick, 22, True, "pw-web", None)
    assert (db.port, db.shared, db.password, db.ssh_key) == (2222, False, None, ssh_private_key)
    stored = VirtualMachine.objects.filter(pk=web.pk).values_list("password", flat=True).get()
    assert "pw-web" not in stored.token


def test_importing_the_same_file_again_changes_nothing(sidekick):
    data = csv_file("web,web.lab.example,22,ubuntu", "db,db.lab.example,2222,pg")
    apply(sidekick, data)
    before = vm_rows()

    report = apply(sidekick, data)

    assert actions(report) == ["unchanged", "unchanged"]
    assert vm_rows() == before


def test_a_row_that_gives_a_secret_always_sets_it_as_stored_ones_are_never_decrypted(sidekick, decrypt_calls):
    vm = VirtualMachineFactory(owner=sidekick, host="web.lab.example", username="ubuntu", password="old")
    data = csv_file(f"{vm.name},web.lab.example,22,ubuntu,old", header="name,host,port,username,password")
    decrypt_calls.clear()

    report = preview(sidekick, data)

    assert decrypt_calls == []
    assert report.rows[0].action == "update"
    assert report.rows[0].changes == ("password",)
    assert report.rows[0].sets_password is True


def test_an_update_changes_only_what_differs_and_keeps_the_columns_the_file_lacks(manager, regular):
    vm = VirtualMachineFactory(
        owner=manager, name="old name", host="web.lab.example", username="ubuntu", shared=False, assigned_to=regular
    )

    report = apply(manager, csv_file("new name,WEB.lab.example,,ubuntu"))

    vm.refresh_from_db()
    assert report.rows[0].changes == ("name", "host")
    assert (vm.name, vm.host, vm.port, vm.shared, vm.assigned_to) == ("new name", "WEB.lab.example", 22, False, regular)


def test_an_empty_assigned_to_cell_unassigns_the_vm(manager, regular):
    vm = VirtualMachineFactory(owner=manager, host="web.lab.example", username="u", assigned_to=regular)

    apply(manager, csv_file(f"{vm.name},web.lab.example,22,u,", header="name,host,port,username,assigned_to"))

    vm.refresh_from_db()
    assert vm.assigned_to is None


def test_matching_by_name_moves_a_vm_to_another_address_and_forgets_its_host_key(sidekick):
    vm = VirtualMachineFactory(owner=sidekick, name="web", host="old.lab.example", username="u")
    VirtualMachine.objects.filter(pk=vm.pk).update(host_key="ssh-ed25519 AAAA", host_key_fingerprint="SHA256:x")

    report = apply(sidekick, csv_file("web,new.lab.example,2200,root"), match="name")

    vm.refresh_from_db()
    assert report.rows[0].changes == ("host", "port", "username")
    assert (vm.host, vm.port, vm.username, vm.host_key) == ("new.lab.example", 2200, "root", "")


def test_matching_by_name_needs_a_name_column(sidekick):
    with pytest.raises(FileRefused) as refused:
        preview(sidekick, b"host,username\na.example,u\n", match="name")

    assert refused.value.messages == ["The file has no “name” column: matching by name needs it."]


def test_an_address_file_needs_host_and_username_columns(sidekick):
    with pytest.raises(FileRefused) as refused:
        preview(sidekick, b"name,port\nweb,22\n")

    assert refused.value.messages == ["The file has no “host” and “username” column: matching by host, port and "
                                      "username needs it."]  # fmt: skip


def test_two_rows_with_one_key_are_both_errors(sidekick):
    report = preview(sidekick, csv_file("a,web.lab.example,22,u", "b,x.example,22,u", "c,WEB.lab.example,,u"))

    assert actions(report) == ["error", "create", "error"]
    assert reasons(report)[0] == ("The same host, port and username as row 4: a file gives each VM once.",)
    assert reasons(report)[2] == ("The same host, port and username as row 2: a file gives each VM once.",)


def test_a_row_naming_the_import_owner_is_the_same_vm_as_a_row_naming_nobody(sidekick):
    report = preview(
        sidekick, csv_file("a,h.example,22,u,SID", "b,h.example,22,u,", header="name,host,port,username,owner")
    )

    assert actions(report) == ["error", "error"]


def test_a_row_matching_two_vms_is_an_error_that_suggests_matching_by_name(sidekick):
    VirtualMachineFactory(owner=sidekick, name="one", host="web.lab.example", username="u")
    VirtualMachineFactory(owner=sidekick, name="two", host="web.lab.example", username="u")

    report = preview(sidekick, csv_file("one,web.lab.example,22,u"))

    assert reasons(report) == [
        ("2 VMs have this host, port and username: “one” (sid), “two” (sid). Match by name instead.",)
    ]
    assert preview(sidekick, csv_file("one,web.lab.example,22,u"), match="name").rows[0].action == "unchanged"


# --- Validation: the New VM form's ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("web,web.lab.example,0,u", "port: Ensure this value is greater than or equal to 1."),
        ("web,web.lab.example,70000,u", "port: Ensure this value is less than or equal to 65535."),
        ("web,web.lab.example,twenty,u", "port: Enter a whole number."),
        ("web,exa mple.com,22,u", "host: Enter a valid host name, IPv4 or IPv6 address"),
        ("web,web.lab.example,22,root;rm", "username: Use letters, digits and . _ - @ only"),
        (",web.lab.example,22,u", "name: This field is required."),
        ("n" * 101 + ",web.lab.example,22,u", "name: Ensure this value has at most 100 characters (it has 101)."),
    ],
)
def test_a_row_is_checked_as_the_new_vm_form_checks_it(sidekick, row, message):
    report = preview(sidekick, csv_file(row))

    assert report.rows[0].action == "error"
    assert report.rows[0].reasons[0].startswith(message)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (PASSPHRASE_PROTECTED_KEY, "This private key is protected by a passphrase."),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", "it looks damaged"),
    ],
    ids=["passphrase", "damaged"],
)
def test_a_passphrase_protected_or_damaged_key_is_refused_on_its_row(sidekick, key, message):
    data = json.dumps([{"name": "web", "host": "web.lab.example", "username": "u", "ssh_key": key}]).encode()

    report = preview(sidekick, data, JSON)

    assert report.rows[0].action == "error"
    assert message in report.rows[0].reasons[0]
    assert report.rows[0].reasons[0].startswith("ssh_key: ")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"shared": "maybe"}, "shared: “maybe” is neither true nor false."),
        ({"name": True}, "name: True is not text; write it in quotes."),
        ({"password": 123456}, "password: not text; write it in quotes."),
    ],
)
def test_a_json_or_yaml_value_of_the_wrong_kind_is_refused_without_showing_a_secret(sidekick, item, message):
    data = json.dumps([{"name": "web", "host": "web.lab.example", "username": "u"} | item]).encode()

    assert preview(sidekick, data, JSON).rows[0].reasons == (message,)


# --- Rights: the pages' -----------------------------------------------------------------------------------------------


def test_a_regular_user_cannot_import(regular):
    with pytest.raises(PermissionDenied, match=r"Your role cannot import VMs\."):
        preview(regular, csv_file("web,web.lab.example,22,u"))


def test_a_sidekick_cannot_assign_nor_import_for_someone_else(sidekick, regular, manager):
    data = csv_file(
        "a,a.example,22,u,reggie,", "b,b.example,22,u,,meg", "c,c.example,22,u,,sid",
        header="name,host,port,username,assigned_to,owner",
    )  # fmt: skip

    report = preview(sidekick, data)

    assert reasons(report) == [
        ("assigned_to: your role cannot assign VMs; leave it empty.",),
        ("owner: only admins import VMs for someone else, and this row's owner is meg.",),
        (),
    ]


def test_a_manager_assigns_to_regular_and_sidekick_users_named_in_the_file(manager, regular, sidekick):
    UserFactory(username="boss", role=Role.MANAGER)
    data = csv_file(
        "a,a.example,22,u,Reggie", "b,b.example,22,u,sid", "c,c.example,22,u,boss", "d,d.example,22,u,nobody",
        header="name,host,port,username,assigned_to",
    )  # fmt: skip

    report = preview(manager, data)

    assert actions(report) == ["create", "create", "error", "error"]
    assert reasons(report)[2:] == [
        ("assigned_to: there is no active regular or sidekick user named “boss”.",),
        ("assigned_to: there is no active regular or sidekick user named “nobody”.",),
    ]
    apply(manager, csv_file("a,a.example,22,u,reggie", header="name,host,port,username,assigned_to"))
    assert VirtualMachine.objects.get(name="a").assigned_to == regular


def test_an_admin_imports_for_another_owner_and_matches_their_private_vms(admin, sidekick):
    private = VirtualMachineFactory(owner=sidekick, name="mine", host="p.example", username="u", shared=False)

    report = apply(admin, csv_file("mine,p.example,22,u", "new,n.example,22,u"), owner=sidekick)

    assert actions(report) == ["unchanged", "create"]
    assert report.owner == "sid"
    assert set(VirtualMachine.objects.owned_by(sidekick).values_list("name", flat=True)) == {"mine", "new"}
    assert VirtualMachine.objects.get(pk=private.pk).version == private.version


def test_an_admin_cannot_change_another_owners_private_vm_in_the_portal(admin, sidekick):
    VirtualMachineFactory(owner=sidekick, name="mine", host="p.example", username="u", shared=False)

    report = preview(admin, csv_file("renamed,p.example,22,u"), owner=sidekick)

    assert reasons(report) == [("You cannot change this VM: it is sid's.",)]


def test_only_admins_import_for_someone_else_and_only_for_users_who_may_own_vms(manager, sidekick, admin, regular):
    with pytest.raises(PermissionDenied, match=r"Only admins import VMs for someone else\."):
        preview(manager, csv_file("a,a.example,22,u"), owner=sidekick)
    with pytest.raises(ValidationError, match="cannot own VMs"):
        preview(admin, csv_file("a,a.example,22,u"), owner=regular)


def test_a_row_naming_an_unknown_owner_is_an_error(admin):
    report = preview(admin, csv_file("a,a.example,22,u,ghost", header="name,host,port,username,owner"))

    assert reasons(report) == [("owner: there is no user named “ghost”.",)]


def test_a_shared_vm_of_someone_else_matches_but_cannot_be_changed_by_a_manager(manager):
    theirs = VirtualMachineFactory(name="theirs", host="t.example", username="u", shared=True)

    unchanged = preview(manager, csv_file("theirs,t.example,22,u"))
    changed = preview(manager, csv_file("renamed,t.example,22,u"))

    assert unchanged.rows[0].action == "unchanged"
    assert unchanged.rows[0].owner == theirs.owner.username
    assert changed.rows[0].reasons == (f"You cannot change this VM: it is {theirs.owner.username}'s.",)


# --- Round trips: an export imports back as a no-op, in every format --------------------------------------------------


@pytest.fixture
def lab(manager, sidekick, regular, ssh_private_key):
    """VMs of every kind a user may see: own (shared or private, assigned or not, with secrets, with names a
    spreadsheet would run), others' shared ones, and one assigned to the sidekick."""
    other = UserFactory(username="-other", role=Role.MANAGER)
    VirtualMachineFactory(owner=manager, name="=cmd|' /C calc'!A0", host="f.example", shared=True, password="pw1")
    VirtualMachineFactory(owner=manager, name="db", host="10.0.0.5", port=2222, username="pg", assigned_to=regular)
    VirtualMachineFactory(owner=manager, name="Web server", host="web.example", ssh_key=ssh_private_key)
    VirtualMachineFactory(owner=manager, name="no", host="2001:db8::1", username="jane.doe@corp", shared=False)
    VirtualMachineFactory(owner=other, name="shared by other", host="o.example", shared=True, assigned_to=sidekick)
    VirtualMachineFactory(owner=sidekick, name="sid's", host="s.example", shared=False, password="pw2")
    VirtualMachineFactory(owner=sidekick, name="sid's shared", host="s2.example", shared=True)


@pytest.mark.parametrize("file_format", list(FORMATS))
@pytest.mark.parametrize("who", ["sid", "meg", "root-admin"])
def test_an_export_imports_back_without_changing_anything(lab, admin, who, file_format):
    actor = UserFactory(username=who)
    visible = VirtualMachine.objects.visible_to(actor).for_list().order_by("name", "pk")
    exported = writing.render(visible, file_format).encode()
    before = vm_rows()

    report = apply(actor, exported, file_format)

    assert [row for row in report.rows if row.action != "unchanged"] == []
    assert report.applied
    assert set(actions(report)) == {"unchanged"}
    assert len(report.rows) == len(visible) > 1
    assert vm_rows() == before


# --- All or nothing, and the version check ----------------------------------------------------------------------------


def test_one_row_with_an_error_means_nothing_is_written(sidekick):
    report = apply(sidekick, csv_file("a,a.example,22,u", "b,b.example,0,u"))

    assert report.applied is False
    assert actions(report) == ["create", "error"]
    assert not VirtualMachine.objects.exists()
    assert not AuditEvent.objects.exists()


def test_applying_after_the_vms_changed_since_the_preview_writes_nothing(sidekick):
    vm = VirtualMachineFactory(owner=sidekick, name="web", host="web.example", username="u")
    data = csv_file("new,new.example,22,u", "web,web.example,22,u")
    shown = preview(sidekick, data)
    services.vm_update(vm=vm, actor=sidekick, name="renamed by someone")

    with pytest.raises(ImportChanged) as changed:
        apply(sidekick, data, preview=shown.preview)

    assert changed.value.messages == [
        "The VMs changed after this preview was made, so nothing was written. Here is the preview again with the VMs "
        "as they are now: check it and apply again."
    ]
    assert actions(changed.value.report) == ["create", "update"]
    assert not VirtualMachine.objects.filter(name="new").exists()


def test_applying_the_preview_as_it_was_shown_writes_it(sidekick):
    data = csv_file("new,new.example,22,u")
    shown = preview(sidekick, data)

    assert apply(sidekick, data, preview=shown.preview).applied
    assert VirtualMachine.objects.filter(name="new").exists()


def test_a_vm_changed_while_the_import_runs_undoes_the_whole_import(sidekick, monkeypatch):
    vm = VirtualMachineFactory(owner=sidekick, name="web", host="web.example", username="u")
    real_update = services.vm_update

    def someone_saves_first(**kwargs):
        VirtualMachine.objects.filter(pk=kwargs["vm"].pk).update_as_change(shared=True)
        return real_update(**kwargs)

    monkeypatch.setattr(services, "vm_update", someone_saves_first)

    with pytest.raises(ImportChanged):
        apply(sidekick, csv_file("new,new.example,22,u", "renamed,web.example,22,u"))

    assert not VirtualMachine.objects.filter(name="new").exists()
    assert VirtualMachine.objects.get(pk=vm.pk).name == "web"
    assert not AuditEvent.objects.exists()


def test_a_vm_deleted_while_the_import_runs_undoes_the_whole_import(sidekick, monkeypatch):
    VirtualMachineFactory(owner=sidekick, name="web", host="web.example", username="u")
    real_update = services.vm_update

    def someone_deletes_first(**kwargs):
        VirtualMachine.objects.filter(pk=kwargs["vm"].pk).delete()
        return real_update(**kwargs)

    monkeypatch.setattr(services, "vm_update", someone_deletes_first)

    with pytest.raises(ImportChanged):
        apply(sidekick, csv_file("new,new.example,22,u", "renamed,web.example,22,u"))

    assert not VirtualMachine.objects.filter(name="new").exists()


# --- Audit, queries, the API's entry point ----------------------------------------------------------------------------


def test_an_applied_import_is_one_audit_row_of_counts_besides_each_vms_own(manager, regular):
    VirtualMachineFactory(owner=manager, name="same", host="s.example", username="u")
    VirtualMachineFactory(owner=manager, name="old", host="o.example", username="u")
    data = csv_file(
        "new,n.example,22,u,secret-pw-1,reggie", "same,s.example,22,u,,", "renamed,o.example,22,u,,",
        header="name,host,port,username,password,assigned_to",
    )  # fmt: skip

    apply(manager, data)

    event = AuditEvent.objects.get(action=Action.VM_IMPORT)
    assert (event.actor, event.target_label) == (manager, "meg")
    assert event.details == {
        "format": "csv",
        "match": "address",
        "owner": "meg",
        "rows": 3,
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "skipped": 0,
        "errors": 0,
        "passwords_set": 1,
        "ssh_keys_set": 0,
    }
    created = AuditEvent.objects.get(action=Action.VM_CREATE)
    assert created.details == {
        "assigned_to": "reggie",
        "assigned_until": None,
        "shared": True,
        "password_set": True,
        "ssh_key_set": False,
    }
    assert AuditEvent.objects.filter(action=Action.VM_UPDATE).count() == 1
    assert "secret-pw-1" not in json.dumps(list(AuditEvent.objects.values("details")))


def _file_of(count: int, offset: int = 0) -> bytes:
    rows = [f"vm{n},vm{n}.example,22,u,pw-{n},reggie,{'meg' if n % 2 else ''}" for n in range(offset, offset + count)]
    return csv_file(*rows, header="name,host,port,username,password,assigned_to,owner")


def test_the_preview_makes_as_many_queries_for_twice_the_rows(manager, regular):
    apply(manager, _file_of(10, offset=1000))  # matched VMs too

    def queries(count):
        with CaptureQueriesContext(connection) as captured:
            report = preview(manager, _file_of(count) + b"\n" + _file_of(count, offset=1000).split(b"\n", 1)[1])
        assert set(actions(report)) <= {"create", "update"}
        return len(captured)

    assert queries(10) == queries(20)


def test_the_apply_makes_no_query_per_created_row(manager, regular):
    def queries(count, offset):
        with CaptureQueriesContext(connection) as captured:
            apply(manager, _file_of(count, offset))
        return len(captured)

    assert queries(20, 0) == queries(40, 100)


def test_the_report_is_plain_data_for_json_without_a_secret(manager, regular):
    report = vms_import(actor=manager, data=_file_of(2), file_format=CSV, dry_run=True)

    data = json.loads(json.dumps(report.as_dict()))

    assert data["counts"] == {"create": 2, "update": 0, "unchanged": 0, "skip": 0, "error": 0}
    assert data["rows"][0]["sets_password"] is True
    assert "pw-0" not in json.dumps(data)
    assert not VirtualMachine.objects.exists()
    assert vms_import(actor=manager, data=_file_of(2), file_format=CSV, dry_run=False, preview=report.preview).applied


@pytest.mark.parametrize("file_format", [YAML, SSH_CONFIG])
def test_every_format_goes_through_the_same_rules(sidekick, file_format):
    data = {
        YAML: b"- {name: web, host: 'exa mple', username: u}\n",
        SSH_CONFIG: b"Host web\n  HostName exa mple\n  User u\n",
    }[file_format]

    report = preview(sidekick, data, file_format)

    assert report.rows[0].reasons[0].startswith("host: Enter a valid host name")


def test_ssh_config_rows_name_new_vms_and_never_rename_matched_ones(sidekick):
    vm = VirtualMachineFactory(owner=sidekick, name="Web server", host="web.example", username="u")

    report = apply(sidekick, b"Host web\n  HostName web.example\n  User u\nHost *\n  Port 22\n", SSH_CONFIG)

    assert actions(report) == ["unchanged", "skip"]
    assert VirtualMachine.objects.get(pk=vm.pk).name == "Web server"
    assert imports.ImportReport.where(report, 4) == "line 4"
