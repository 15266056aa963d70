"""Reading and writing files of VMs, without the database: what each format gives, and what each refuses."""

import csv
import io
import json

import pytest
import yaml

from machines.vm_files import reading, sshconfig, writing
from machines.vm_files.columns import (
    CELL_MAX_LENGTH,
    CSV,
    JSON,
    SSH_CONFIG,
    YAML,
    FileRefused,
    format_for_filename,
    neutralise_formula,
    read_spreadsheet_text,
)

# The classic "billion laughs": nine levels of nine aliases, a few hundred bytes that expand to a billion strings.
YAML_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def refusal(data: bytes, file_format: str) -> str:
    with pytest.raises(FileRefused) as refused:
        reading.read_file(data, file_format)
    return " ".join(refused.value.messages)


def cells(data: bytes, file_format: str) -> list[dict]:
    return [row.cells for row in reading.read_file(data, file_format).rows]


# --- Encodings --------------------------------------------------------------------------------------------------------


def test_a_utf8_byte_order_mark_is_taken_off_and_noted():
    parsed = reading.read_file("\ufeffname,host,username\nwéb,web.lab.example,ubuntu\n".encode(), CSV)

    assert parsed.rows[0].cells == {"name": "wéb", "host": "web.lab.example", "username": "ubuntu"}
    assert parsed.notes == ["The file starts with a UTF-8 byte order mark (Excel writes one): it was ignored."]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_or_utf32_file_is_refused_with_what_to_do(encoding):
    data = "\ufeffname,host,username\nweb,web.lab.example,ubuntu\n".encode(encoding)

    message = refusal(data, CSV)

    assert message.startswith(f"This file is {encoding[:6].upper()} text")
    assert "save it as UTF-8" in message


def test_utf16_without_a_byte_order_mark_is_refused_as_not_text():
    data = "name,host,username\nweb,web.lab.example,ubuntu\n".encode("utf-16-le")

    assert refusal(data, CSV).startswith("This file holds NUL characters: it is not a text file")


def test_latin1_text_is_refused_naming_the_byte():
    assert refusal("name,host,username\ncafé,c.lab.example,u\n".encode("latin-1"), CSV).startswith(
        "This file is not UTF-8 text (byte 23)"
    )


def test_an_empty_file_is_refused():
    assert refusal(b"  \n", CSV) == "The file is empty."


def test_a_file_larger_than_the_request_limit_is_refused(settings):
    settings.MAX_REQUEST_BODY = 100

    assert refusal(b"name,host,username\n" + b"a,b.example,c\n" * 10, CSV) == (
        "This file is larger than 100\xa0bytes, the most an import takes (MAX_REQUEST_BODY): split it into smaller "
        "files."
    )


# --- CSV ------------------------------------------------------------------------------------------------------------


def test_csv_columns_are_read_by_their_header_whatever_the_case_and_order():
    data = b"Username , HOST,Port\nubuntu,web.lab.example,2222\n"

    assert cells(data, CSV) == [{"username": "ubuntu", "host": "web.lab.example", "port": "2222"}]


def test_rows_of_empty_cells_below_the_data_are_ignored():
    assert len(cells(b"host,username\nweb.lab.example,ubuntu\n,\n\n,\n", CSV)) == 1


@pytest.mark.parametrize(
    ("delimiter", "named"), [(";", "“;”"), ("\t", "tabs"), ("|", "“|”")], ids=["semicolon", "tab", "pipe"]
)
def test_a_wrong_delimiter_is_reported_not_read_as_one_column(delimiter, named):
    data = delimiter.join(["name", "host", "username"]).encode() + b"\n" + delimiter.join(["a", "b", "c"]).encode()

    assert refusal(data, CSV) == (
        f"The columns of this file are separated by {named}, not by commas: save it as CSV with commas (in Excel, "
        "“CSV UTF-8 (comma delimited)”) and upload it again."
    )


def test_unknown_and_repeated_columns_are_refused():
    assert refusal(b"name,hots,username,frist_name\n", CSV) == (
        "Unknown column(s) “hots”, “frist_name”: the columns are name, host, port, username, shared, assigned_to, "
        "owner, password, ssh_key."
    )
    assert refusal(b"host,username,host\n", CSV) == "The column “host” appears twice in the header."


def test_a_row_wider_than_the_header_is_refused_naming_it():
    assert refusal(b"host,username\na.example,u\nb.example,u,extra\n", CSV) == (
        "Row 3 has 3 cells but the header names 2 columns (a comma inside a value must be inside double quotes)."
    )


def test_a_value_under_an_unnamed_column_is_refused_but_empty_ones_are_fine():
    assert len(cells(b"host,username,\na.example,u,\n", CSV)) == 1
    assert refusal(b"host,username,\na.example,u,lost\n", CSV) == (
        "Row 2 has a value in column 3, which has no name in the header: name the column or empty it."
    )


def test_a_one_mebibyte_cell_is_refused_on_its_row_only():
    data = b"name,host,username\n" + b"x" * 2**20 + b",a.example,u\nok,b.example,u\n"

    rows = reading.read_file(data, CSV).rows

    assert rows[0].errors == [
        f"name: this cell holds 1,048,576 characters; a cell holds at most {CELL_MAX_LENGTH:,} (an SSH key at most "
        "16 KiB)."
    ]
    assert "name" not in rows[0].cells
    assert rows[1].errors == []


def test_a_csv_key_with_its_line_breaks_inside_quotes_is_one_cell(ssh_private_key):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["host", "username", "ssh_key"], ["a.example", "u", ssh_private_key]])

    assert cells(buffer.getvalue().encode(), CSV)[0]["ssh_key"] == ssh_private_key


def test_more_rows_than_import_max_rows_are_refused_before_they_are_kept(settings):
    settings.IMPORT_MAX_ROWS = 3
    data = b"host,username\n" + b"".join(b"h%d.example,u\n" % number for number in range(4))

    assert refusal(data, CSV) == (
        "This file has more than 3 VMs; an import takes at most 3 (IMPORT_MAX_ROWS): split it into smaller files."
    )


# --- Formulas (CSV injection) ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("formula", ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_a_csv_cell_that_a_spreadsheet_runs_as_a_formula_is_refused_on_its_row(formula):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["name", "host", "username"], [formula, "a.example", "u"]])

    row = reading.read_file(buffer.getvalue().encode(), CSV).rows[0]

    assert "name" not in row.cells
    assert row.errors[0].startswith("name: “")
    assert row.errors[0].endswith(
        "so a spreadsheet would run it as a formula. VM Lab does not take formulas: write the value itself, or put "
        "a ' in front of it to keep it as text."
    )


def test_the_formula_message_quotes_the_cell():
    row = reading.read_file(b"name,host,username\n\"=cmd|' /C calc'!A0\",a.example,u\n", CSV).rows[0]

    assert row.errors == [
        "name: “=cmd|' /C calc'!A0” starts with =, so a spreadsheet would run it as a formula. VM Lab does not take "
        "formulas: write the value itself, or put a ' in front of it to keep it as text."
    ]


def test_a_quote_before_a_formula_keeps_it_as_text_and_passwords_are_taken_as_typed():
    data = b"name,host,username,password\n'=total,a.example,u,=pass+word\n"

    assert cells(data, CSV) == [{"name": "=total", "host": "a.example", "username": "u", "password": "=pass+word"}]


@pytest.mark.parametrize("value", ["=1+1", "-x", "@me", "+x", "\tx", "'=x", "''-x", "'plain", "plain", "", "a=b"])
def test_neutralised_cells_read_back_to_what_was_written(value):
    written = neutralise_formula(value)

    assert not (written and written[0] in "=+-@\t\r")
    assert read_spreadsheet_text("name", written) == value


# --- JSON -------------------------------------------------------------------------------------------------------------


def test_json_is_a_list_of_items_with_the_values_as_written():
    data = json.dumps([{"name": "web", "host": "a.example", "port": 22, "username": "u", "shared": False}]).encode()

    assert cells(data, JSON) == [{"name": "web", "host": "a.example", "port": 22, "username": "u", "shared": False}]


def test_deeply_nested_json_is_refused_whole():
    assert refusal(b"[" * 100_000 + b"]" * 100_000, JSON) == (
        "This file is nested too deeply: a file of VMs is a list of items whose values are text, numbers, true/false "
        "or empty."
    )


def test_a_nested_value_an_unknown_key_or_an_item_that_is_not_a_mapping_is_refused_on_its_row():
    data = json.dumps([{"host": {"name": "a"}, "hots": "x"}, "web"]).encode()

    rows = reading.read_file(data, JSON).rows

    assert rows[0].errors == [
        "Unknown key(s) “hots”: the keys are name, host, port, username, shared, assigned_to, owner, password, "
        "ssh_key.",
        "host: a list or mapping; a value is text, a number, true/false or empty.",
    ]
    assert rows[1].errors == ["This item is not a mapping of keys (name, host, port, username, …) to values."]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"host": "a"}', "This file is not a list of VMs"),
        (b'[{"host": "a"},]', "This is not valid JSON (line 1, column 16): Expecting value."),
        (b"[]", "No VMs found in this file."),
    ],
)
def test_json_that_is_not_a_list_of_vms_is_refused(data, message):
    assert refusal(data, JSON).startswith(message)


# --- YAML -------------------------------------------------------------------------------------------------------------


def test_yaml_is_a_list_of_items():
    data = b"- name: web\n  host: a.example\n  port: 2222\n  username: u\n  shared: no\n"

    assert cells(data, YAML) == [{"name": "web", "host": "a.example", "port": 2222, "username": "u", "shared": False}]


def test_the_billion_laughs_file_is_refused_at_its_first_anchor():
    assert refusal(YAML_BOMB.encode(), YAML) == (
        "YAML anchors and aliases (&name, *name, line 1) are not accepted: write every VM out in full."
    )


def test_an_alias_alone_and_an_anchor_without_an_alias_are_refused_too():
    assert refusal(b"- host: a\n- *a\n", YAML).startswith("YAML anchors and aliases (&name, *name, line 2)")
    assert refusal(b"- &web {host: a}\n", YAML).startswith("YAML anchors and aliases (&name, *name, line 1)")


@pytest.mark.parametrize("depth", [4, 50, 10_000])
def test_deeply_nested_yaml_is_refused_before_it_is_built(depth):
    assert refusal(b"[" * depth + b"]" * depth, YAML).startswith("This file is nested too deeply")


def test_yaml_tags_that_build_python_objects_are_refused():
    assert refusal(b"- !!python/object/apply:os.system ['true']\n", YAML).startswith("This is not valid YAML:")


def test_more_yaml_items_than_import_max_rows_are_refused_while_reading(settings):
    settings.IMPORT_MAX_ROWS = 2

    assert refusal(b"- {host: a}\n- {host: b}\n- {host: c}\n", YAML).startswith("This file has more than 2 VMs")


# --- ssh_config -------------------------------------------------------------------------------------------------------

SSH_CONFIG_FILE = """\
# lab machines
Host web web.alias
    HostName web.lab.example
    User ubuntu
    IdentityFile ~/.ssh/id_lab
    ForwardAgent yes

Host db
    HostName %h.lab.example
    Port 2222

Host *.internal !bastion
    User nobody

Match host db exec "touch /tmp/vmlab-pwned"
    User root

Host *
    User admin
"""


def test_each_concrete_host_alias_becomes_a_row_with_openssh_first_value_wins():
    parsed = reading.read_file(SSH_CONFIG_FILE.encode(), SSH_CONFIG)

    assert [(row.number, row.cells) for row in parsed.rows if not row.skipped] == [
        (2, {"name": "web", "host": "web.lab.example", "username": "ubuntu"}),
        (8, {"name": "db", "host": "db.lab.example", "port": "2222", "username": "admin"}),
    ]
    assert parsed.numbering == "line"
    assert parsed.renames is False


def test_an_identity_file_is_reported_and_never_read_and_unused_settings_are_listed():
    web = reading.read_file(SSH_CONFIG_FILE.encode(), SSH_CONFIG).rows[0]

    assert web.notes == [
        "IdentityFile ~/.ssh/id_lab was not read: VM Lab never reads files an import names. Set the VM's SSH key on "
        "its page, or in an ssh_key column of a CSV, JSON or YAML file.",
        "Not used by VM Lab: forwardagent.",
        "Also named web.alias in this file.",
    ]


def test_wildcard_hosts_and_match_blocks_are_skipped_with_a_reason_and_match_exec_never_runs(tmp_path):
    skipped = [(row.number, row.skipped) for row in reading.read_file(SSH_CONFIG_FILE.encode(), SSH_CONFIG).rows]

    assert skipped[2:] == [
        (
            12,
            "Host *.internal !bastion is a pattern: it gives settings to the hosts it matches (applied to those in "
            "this file), it is not a VM.",
        ),
        (
            15,
            "A Match block: VM Lab does not evaluate its conditions (and never runs a Match exec command). Copy its "
            "settings into the Host entries they are meant for.",
        ),
        (
            18,
            "Host * is a pattern: it gives settings to the hosts it matches (applied to those in this file), it is "
            "not a VM.",
        ),
    ]
    assert not (tmp_path.parent / "vmlab-pwned").exists()


@pytest.mark.parametrize("line", ["Include ~/.ssh/config.d/*", "include /etc/ssh/ssh_config", "Include=other"])
def test_include_is_refused_with_its_line_and_nothing_is_read(line):
    data = f"Host web\n    HostName web.lab.example\n    User u\n{line}\n".encode()

    assert refusal(data, SSH_CONFIG) == (
        "Line 4: Include is not accepted: VM Lab never reads other files on the server. Paste the Host entries of the "
        "included files into this file instead."
    )


def test_a_host_without_a_user_is_noted():
    row = reading.read_file(b"Host web\n  HostName a.example\n", SSH_CONFIG).rows[0]

    assert "username" not in row.cells
    assert row.notes == ["No User line applies to this host: add one (or a default under Host *)."]


def test_an_unparsable_ssh_config_is_refused():
    assert refusal(b"Host web\n  HostName\n", SSH_CONFIG) == (
        "This is not an OpenSSH client config VM Lab can read: Unparsable line HostName."
    )


# --- Writing ----------------------------------------------------------------------------------------------------------


class FakeVm:
    """What the writers read of a VM (the views give VirtualMachine.objects.for_list() rows)."""

    def __init__(self, pk, name, host, port=22, username="u", shared=True, assigned_to=None, owner="ann", key=False):
        self.pk, self.name, self.host, self.port, self.username, self.shared = pk, name, host, port, username, shared
        self.assigned_to = type("User", (), {"username": assigned_to})() if assigned_to else None
        self.owner = type("User", (), {"username": owner})()
        self.has_ssh_key = key


def test_csv_export_neutralises_every_cell_a_spreadsheet_would_run():
    vms = [FakeVm(1, "=cmd|' /C calc'!A0", "a.example", owner="@boss", assigned_to="-rob")]

    text = writing.render(vms, CSV)

    assert text.startswith("\ufeffname,host,port,username,shared,assigned_to,owner\n")
    assert list(csv.reader(io.StringIO(text[1:])))[1] == [
        "'=cmd|' /C calc'!A0", "a.example", "22", "u", "true", "'-rob", "'@boss"
    ]  # fmt: skip


def test_json_and_yaml_exports_keep_numbers_booleans_and_empty_values():
    vms = [FakeVm(1, "no", "a.example", port=2222, shared=False)]
    expected = [
        {"name": "no", "host": "a.example", "port": 2222, "username": "u", "shared": False, "assigned_to": None}
        | {"owner": "ann"}
    ]

    assert json.loads(writing.render(vms, JSON)) == expected
    assert yaml.safe_load(writing.render(vms, YAML)) == expected


def test_ssh_config_export_gives_unique_aliases_and_names_the_key_file():
    vms = [FakeVm(1, "Web 1", "a.example", key=True), FakeVm(2, "web-1", "b.example")]

    text = writing.render(vms, SSH_CONFIG)

    assert text == (
        "# Web 1\nHost web-1\n    HostName a.example\n    Port 22\n    User u\n"
        "    IdentityFile ~/.ssh/Web-1_id\n    IdentitiesOnly yes\n\n"
        "# web-1\nHost web-1-2\n    HostName b.example\n    Port 22\n    User u\n"
    )
    assert [row.cells["host"] for row in sshconfig.read(text).rows] == ["a.example", "b.example"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("vms.csv", CSV),
        ("VMS.JSON", JSON),
        ("inventory.yml", YAML),
        ("lab.yaml", YAML),
        ("config", SSH_CONFIG),
        ("vmlab-vms.ssh-config", SSH_CONFIG),
        ("notes.txt", None),
    ],
)
def test_the_format_is_told_from_the_file_name(name, expected):
    assert format_for_filename(name) == expected
