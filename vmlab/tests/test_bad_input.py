"""Every form and command refuses bad input with a clear message and writes nothing (issue "Hardening", part 4).

One case per bad input: the message the user sees (in the page's errors, flash messages or error page, or the
command's error) and every row of the project's models, before and after. The audit trail is part of the
snapshot: no refused input below writes an audit row. (The one refusal that is audited on purpose, a wrong
account password at reveal, is an attempt rather than bad input; machines/tests/test_views_reveal.py covers it.)
"""

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from io import StringIO

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from access.roles import Role
from accounts.forms import PERSONAL_FIELDS
from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from audit.models import AuditEvent
from bookmarks.models import Bookmark
from bookmarks.tests.factories import BookmarkFactory
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory
from machines.tests.keys import PASSPHRASE_PROTECTED_KEY

pytestmark = pytest.mark.django_db

SNAPSHOT_MODELS = (User, VirtualMachine, Bookmark, AuditEvent)


def db_rows() -> dict[str, list[dict]]:
    """Every row of the project's models as stored: secrets stay ciphertext, nothing is decrypted."""
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in SNAPSHOT_MODELS}


# --- What the user sees -----------------------------------------------------------------------------------------

FEEDBACK_CLASSES = {"error", "errors", "alert", "message"}
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _TextParser(HTMLParser):
    """Collects the text inside the elements that `wanted(tag, attributes)` picks, and inside their children."""

    def __init__(self, wanted):
        super().__init__(convert_charrefs=True)
        self._wanted = wanted
        self._open: list[bool] = []  # per open element: is it (or is it inside) a wanted one?
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID_ELEMENTS:
            self._open.append(self._wanted(tag, dict(attrs)) or any(self._open))

    def handle_endtag(self, tag):
        if tag not in VOID_ELEMENTS and self._open:
            self._open.pop()

    def handle_data(self, data):
        if any(self._open):
            self.texts.append(data)


def _is_feedback(tag, attributes) -> bool:
    """Form errors, alerts and flash messages; not help texts, labels or the values typed."""
    classes = set((attributes.get("class") or "").split())
    return bool(FEEDBACK_CLASSES & classes) or attributes.get("role") in ("alert", "status")


def _is_main(tag, attributes) -> bool:
    return tag == "main"


class _HiddenInputParser(HTMLParser):
    """The hidden inputs of the page's own form (the first one posting to the page, not e.g. the logout button's),
    as a browser would post them back; the CSRF token aside, since the test client does not check it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self._state = "before"  # before the page's form, "inside" it, or "after" it
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and self._state == "before" and not attributes.get("action"):
            self._state = "inside"
        elif self._state == "inside" and tag == "input" and attributes.get("type") == "hidden":
            self.values[attributes["name"]] = attributes.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form" and self._state == "inside":
            self._state = "after"

    def close(self):
        super().close()
        self.values.pop("csrfmiddlewaretoken", None)


def hidden_inputs(response) -> dict[str, str]:
    parser = _HiddenInputParser()
    parser.feed(response.text)
    parser.close()
    return parser.values


def message_shown(response) -> str:
    """The feedback of a page; an error page (4xx) is itself the message, so all of its main text."""
    parser = _TextParser(_is_main if response.status_code >= 400 else _is_feedback)
    parser.feed(response.text)
    parser.close()
    return " ".join(" ".join(parser.texts).split())


# --- Test data --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A file in a posted form; `oversize` makes it one byte larger than the whole request may be."""

    content: bytes = b""
    name: str = "upload.txt"
    oversize: bool = False

    def as_file(self) -> SimpleUploadedFile:
        content = b"x" * (settings.MAX_REQUEST_BODY + 1) if self.oversize else self.content
        return SimpleUploadedFile(self.name, content)


@dataclass(frozen=True)
class Ref:
    """The primary key of one of the world's objects, known only once the test has created them."""

    name: str


def _openssh(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()


_KEY = ed25519.Ed25519PrivateKey.generate()
PRIVATE_KEY = _openssh(_KEY)
PUBLIC_KEY = (
    _KEY.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    + " me@laptop"
)
PEM_PUBLIC_KEY = (
    _KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
)
PASSPHRASE_PKCS8_KEY = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"passphrase")
).decode()
KEY_LINES = PRIVATE_KEY.splitlines()
KEY_CUT_SHORT = "\n".join(KEY_LINES[:3]) + "\n"  # the copy stopped half-way: no END line
KEY_MISSING_A_LINE = "\n".join(KEY_LINES[:2] + KEY_LINES[3:]) + "\n"
# Loads as a private key, but SSH has no way to log in with it (a key-agreement key).
X25519_KEY = (
    x25519.X25519PrivateKey.generate()
    .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    .decode()
)

HOST_254_CHARS = ".".join(["a" * 63] * 3 + ["b" * 62])
LINK_2001_CHARS = "https://example.org/" + "a" * (2001 - len("https://example.org/"))
TAGS_504_CHARS = " ".join(f"t{number:03d}" for number in range(101))
EMAIL_255_CHARS = "x" * (255 - len("@example.org")) + "@example.org"

VALID_VM = {"name": "web", "host": "web.lab.example", "port": "22", "username": "ubuntu", "shared": "on"}
VALID_BOOKMARK = {"name": "Docs", "link": "https://docs.lab.example/", "tags": "docs", "description": ""}
VALID_REGISTRATION = {
    "username": "newcomer",
    "email": "newcomer@example.org",
    "first_name": "New",
    "last_name": "Comer",
    "password1": "a long lab passphrase",
    "password2": "a long lab passphrase",
}
VALID_PROFILE = {
    "username": "mia",
    "email": "mia@example.org",
    "first_name": "Mia",
    "last_name": "Member",
    "current_password": DEFAULT_PASSWORD,
}


def vm(**changes):
    return {**VALID_VM, **changes}


def bookmark(**changes):
    return {**VALID_BOOKMARK, **changes}


def registration(**changes):
    return {**VALID_REGISTRATION, **changes}


def profile(**changes):
    return {**VALID_PROFILE, **changes}


def bookmark_file(html: str) -> dict:
    return {"file": Upload(html.encode(), "bookmarks.html")}


def netscape(*entries: str) -> str:
    return "<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<TITLE>Bookmarks</TITLE>\n<DL><p>\n" + "".join(entries) + "</DL><p>\n"


# --- Messages ---------------------------------------------------------------------------------------------------


def too_long(limit: int, length: int) -> str:
    return f"Ensure this value has at most {limit} characters (it has {length})."


REQUIRED = "This field is required."
HOST_INVALID = "Enter a valid host name, IPv4 or IPv6 address"
PORT_TOO_LOW = "Ensure this value is greater than or equal to 1."
NOT_ASSIGNABLE = "Choose an active regular or sidekick user, or nobody."
NOT_A_KEY = "This is not a private key in OpenSSH or PEM format."
KEY_DAMAGED = "it looks damaged or incomplete"
PUBLIC_KEY_GIVEN = "This is a public key. Paste the private key (the file without .pub)."
PASSPHRASE_REFUSED = "Passphrase-protected keys are not supported"
KEY_CANNOT_LOG_IN = "This kind of key cannot log in over SSH"
NOT_A_WEB_LINK = "Enter a web address that starts with http:// or https://."
NO_BOOKMARKS = "No bookmarks found in this file."
NOT_UTF8_BOOKMARKS = "This file is not UTF-8 text."
TOO_LARGE_PAGE = "accepts forms and files of at most 3 MiB. Nothing was saved"
USERNAME_TAKEN = "This username is already taken."
EMAIL_TAKEN = "An account with this e-mail address already exists."
INVALID_EMAIL = "Enter a valid email address."
FILE_EMPTY = "The submitted file is empty."

# --- Pages: (page, posted data, final status, message) ------------------------------------------------------------

ANONYMOUS_PAGES = {"accounts:register"}
# Forms that carry state in hidden inputs (the VM version the edit form was opened at): posted as opened.
STATEFUL_FORMS = {"machines:edit"}
# Pages about one object: which of the world's objects.
OBJECT_PAGES = {
    "machines:edit": "vm",
    "machines:ssh_key": "vm",
    "machines:password": "vm",
    "machines:reveal": "vm",
    "machines:assign": "vm",
    "bookmarks:edit": "mark",
    "people:user_set_role": "alice",
    "people:user_approve": "newcomer",
}


def case(case_id, page, data, message, status=200, marks=()):
    return pytest.param(page, data, message, status, id=case_id, marks=marks)


VM_CREATE_CASES = [
    case("vm-name-101-chars", "machines:create", vm(name="n" * 101), too_long(100, 101)),
    case("vm-host-254-chars", "machines:create", vm(host=HOST_254_CHARS), too_long(253, 254)),
    case("vm-username-65-chars", "machines:create", vm(username="u" * 65), too_long(64, 65)),
    case("vm-username-option", "machines:create", vm(username="-oProxyCommand=x"), "not starting with -"),
    case("port-0", "machines:create", vm(port="0"), PORT_TOO_LOW),
    case("port-65536", "machines:create", vm(port="65536"), "Ensure this value is less than or equal to 65535."),
    case("port-minus-1", "machines:create", vm(port="-1"), PORT_TOO_LOW),
    case("port-abc", "machines:create", vm(port="abc"), "Enter a whole number."),
    case("port-empty", "machines:create", vm(port=""), REQUIRED),
    case("host-with-space", "machines:create", vm(host="exa mple.com"), HOST_INVALID),
    case("host-leading-hyphen", "machines:create", vm(host="-bad.example"), HOST_INVALID),
    case("host-empty-label", "machines:create", vm(host="a..b"), HOST_INVALID),
    case("host-is-a-url", "machines:create", vm(host="http://x"), HOST_INVALID),
    case("host-one-254-char-label", "machines:create", vm(host="a" * 254), too_long(253, 254)),
    case("host-64-char-label", "machines:create", vm(host="a" * 64 + ".example"), HOST_INVALID),
    case("host-shell-command", "machines:create", vm(host="host;rm -rf /"), HOST_INVALID),
    case("host-bad-ipv4", "machines:create", vm(host="10.0.0.256"), "10.0.0.256 is not a valid IPv4 address."),
    case("assign-to-new-user", "machines:create", vm(assigned_to=Ref("newcomer")), NOT_ASSIGNABLE),
    case("assign-to-manager", "machines:create", vm(assigned_to=Ref("member")), NOT_ASSIGNABLE),
    case("assign-to-disabled-user", "machines:create", vm(assigned_to=Ref("disabled")), NOT_ASSIGNABLE),
    case("assign-to-missing-id", "machines:create", vm(assigned_to="999999"), NOT_ASSIGNABLE),
    case("assign-to-abc", "machines:create", vm(assigned_to="abc"), NOT_ASSIGNABLE),
    case("create-with-public-key", "machines:create", vm(ssh_key=PUBLIC_KEY), PUBLIC_KEY_GIVEN),
    case("create-with-passphrase-key", "machines:create", vm(ssh_key=PASSPHRASE_PROTECTED_KEY), PASSPHRASE_REFUSED),
    case(
        "create-with-non-utf8-key-file",
        "machines:create",
        vm(ssh_key_file=Upload(b"\x89PNG\r\n\x1a\n\xff", "id_ed25519")),
        "The file is not a text file (UTF-8)",
    ),
    case(
        "create-with-key-pasted-and-uploaded",
        "machines:create",
        vm(ssh_key=PRIVATE_KEY, ssh_key_file=Upload(PRIVATE_KEY.encode(), "id_ed25519")),
        "Paste the key or upload its file, not both.",
    ),
]

VM_EDIT_AND_ASSIGN_CASES = [
    case("edit-name-101-chars", "machines:edit", vm(name="n" * 101), too_long(100, 101)),
    case("edit-host-shell-command", "machines:edit", vm(host="host;rm -rf /"), HOST_INVALID),
    case("edit-port-0", "machines:edit", vm(port="0"), PORT_TOO_LOW),
    case("edit-port-65536", "machines:edit", vm(port="65536"), "Ensure this value is less than or equal to 65535."),
    case("edit-port-minus-1", "machines:edit", vm(port="-1"), PORT_TOO_LOW),
    case("edit-port-abc", "machines:edit", vm(port="abc"), "Enter a whole number."),
    case("edit-username-option", "machines:edit", vm(username="-oProxyCommand=x"), "not starting with -"),
    case("assign-page-to-new-user", "machines:assign", {"assigned_to": Ref("newcomer")}, NOT_ASSIGNABLE),
    case("assign-page-to-missing-id", "machines:assign", {"assigned_to": "999999"}, NOT_ASSIGNABLE),
]

SSH_KEY_CASES = [
    case("key-plain-text", "machines:ssh_key", {"ssh_key": "my key is in my other laptop"}, NOT_A_KEY),
    case("key-ssh-ed25519-public", "machines:ssh_key", {"ssh_key": PUBLIC_KEY}, PUBLIC_KEY_GIVEN),
    case("key-pem-public", "machines:ssh_key", {"ssh_key": PEM_PUBLIC_KEY}, PUBLIC_KEY_GIVEN),
    case("key-openssh-passphrase", "machines:ssh_key", {"ssh_key": PASSPHRASE_PROTECTED_KEY}, PASSPHRASE_REFUSED),
    case("key-pkcs8-passphrase", "machines:ssh_key", {"ssh_key": PASSPHRASE_PKCS8_KEY}, PASSPHRASE_REFUSED),
    case("key-cut-short", "machines:ssh_key", {"ssh_key": KEY_CUT_SHORT}, KEY_DAMAGED),
    case("key-missing-a-line", "machines:ssh_key", {"ssh_key": KEY_MISSING_A_LINE}, KEY_DAMAGED),
    case("key-x25519", "machines:ssh_key", {"ssh_key": X25519_KEY}, KEY_CANNOT_LOG_IN),
    case("key-pasted-over-16-kib", "machines:ssh_key", {"ssh_key": PRIVATE_KEY + "#" * 16384}, "larger than 16 KiB"),
    case("key-blank", "machines:ssh_key", {"ssh_key": "  \n"}, "Paste a private key or upload its file."),
    case(
        "key-file-not-utf8",
        "machines:ssh_key",
        {"ssh_key_file": Upload(b"\xff\xfe-----BEGIN OPENSSH PRIVATE KEY-----\xc3", "id_ed25519")},
        "The file is not a text file (UTF-8)",
    ),
    case(
        "key-file-over-16-kib",
        "machines:ssh_key",
        {"ssh_key_file": Upload(PRIVATE_KEY.encode() + b"#" * 16384, "id_ed25519")},
        "The file is larger than 16 KiB",
    ),
    case("key-file-empty", "machines:ssh_key", {"ssh_key_file": Upload(b"", "id_ed25519")}, FILE_EMPTY),
    case(
        "key-file-public",
        "machines:ssh_key",
        {"ssh_key_file": Upload(PUBLIC_KEY.encode(), "id_ed25519.pub")},
        PUBLIC_KEY_GIVEN,
    ),
    case(
        "key-file-over-request-limit",
        "machines:ssh_key",
        {"ssh_key_file": Upload(name="id_ed25519", oversize=True)},
        TOO_LARGE_PAGE,
        status=413,
    ),
]

VM_SECRET_CASES = [
    case("vm-password-1025-chars", "machines:password", {"password": "p" * 1025}, too_long(1024, 1025)),
    case("vm-password-empty", "machines:password", {"password": ""}, "Enter the new password."),
    case("reveal-no-secret-chosen", "machines:reveal", {"account_password": DEFAULT_PASSWORD}, "Choose the secret"),
    case(
        "reveal-unknown-secret",
        "machines:reveal",
        {"secret": "owner", "account_password": DEFAULT_PASSWORD},
        "Select a valid choice. owner is not one of the available choices.",
    ),
]

BOOKMARK_CASES = [
    case("bookmark-name-201-chars", "bookmarks:create", bookmark(name="n" * 201), too_long(200, 201)),
    case("bookmark-link-2001-chars", "bookmarks:create", bookmark(link=LINK_2001_CHARS), too_long(2000, 2001)),
    case("bookmark-tags-504-chars", "bookmarks:create", bookmark(tags=TAGS_504_CHARS), too_long(500, 504)),
    case("bookmark-description-2001", "bookmarks:create", bookmark(description="d" * 2001), too_long(2000, 2001)),
    case("link-javascript", "bookmarks:create", bookmark(link="javascript:alert(1)"), NOT_A_WEB_LINK),
    case("link-data", "bookmarks:create", bookmark(link="data:text/html,<script>alert(1)</script>"), NOT_A_WEB_LINK),
    case("link-ftp", "bookmarks:create", bookmark(link="ftp://files.example.org/a.iso"), NOT_A_WEB_LINK),
    case("link-no-scheme-relative-path", "bookmarks:create", bookmark(link="/docs/page"), NOT_A_WEB_LINK),
    case("link-no-scheme-no-host", "bookmarks:create", bookmark(link="docs"), NOT_A_WEB_LINK),
    case("link-space-in-host", "bookmarks:create", bookmark(link="https://exa mple.org"), "cannot contain spaces"),
    case("link-space-in-path", "bookmarks:create", bookmark(link="https://example.org/a b"), "cannot contain spaces"),
    case("edit-link-javascript", "bookmarks:edit", bookmark(link="javascript:alert(1)"), NOT_A_WEB_LINK),
    case("edit-name-201-chars", "bookmarks:edit", bookmark(name="n" * 201), too_long(200, 201)),
]

IMPORT_CASES = [
    case("import-no-file", "bookmarks:import", {}, REQUIRED),
    case("import-empty-file", "bookmarks:import", {"file": Upload(b"", "b.html")}, FILE_EMPTY),
    case("import-plain-text", "bookmarks:import", bookmark_file("my favourite sites: none\n"), NO_BOOKMARKS),
    case("import-html-without-bookmarks", "bookmarks:import", bookmark_file(netscape()), NO_BOOKMARKS),
    case(
        "import-binary-png",
        "bookmarks:import",
        {"file": Upload(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "b.html")},
        NOT_UTF8_BOOKMARKS,
    ),
    case(
        "import-utf8-with-nul-bytes",
        "bookmarks:import",
        {"file": Upload(b'<DT><A HREF="https://x.example/\x00">x\x00</A>\x00\x00', "b.html")},
        "This file is not a text file",
    ),
    case(
        "import-latin1",
        "bookmarks:import",
        {"file": Upload(netscape('<DT><A HREF="https://cafe.example">Café</A>\n').encode("latin-1"), "b.html")},
        NOT_UTF8_BOOKMARKS,
    ),
    case(
        "import-broken-declaration",
        "bookmarks:import",
        bookmark_file(netscape('<DT><A HREF="https://a.example">A</A>\n', "<![abc[ x ]]>\n")),
        "This file is not HTML that VM Lab can read",
    ),
    case(
        "import-javascript-links-only",
        "bookmarks:import",
        bookmark_file(netscape('<DT><A HREF="javascript:alert(1)">Bookmarklet</A>\n')),
        "0 created, 0 skipped (already saved, or twice in the file), 1 rejected (not an http:// or https:// address",
    ),
    case(
        "import-over-2-mib",
        "bookmarks:import",
        bookmark_file(netscape('<DT><A HREF="https://a.example">A</A>\n') + " " * 2 * 1024 * 1024),
        "This file is too large: bookmark files can be at most 2 MiB.",
    ),
    case(
        "import-over-request-limit",
        "bookmarks:import",
        {"file": Upload(name="b.html", oversize=True)},
        TOO_LARGE_PAGE,
        status=413,
    ),
]


def vm_file(text: str | bytes, name: str = "vms.csv", **options) -> dict:
    return {"file": Upload(text.encode() if isinstance(text, str) else text, name), "match": "address", **options}


def vm_csv(*rows: str, header: str = "name,host,port,username") -> dict:
    return vm_file("\n".join([header, *rows]) + "\n")


def vm_json(*items: dict) -> dict:
    return vm_file(json.dumps([{"name": "web", "host": "web.lab.example", "username": "u"} | item for item in items]),
                   "vms.json")  # fmt: skip


# The classic "billion laughs": each line nine times the one before, a billion strings from a few hundred bytes.
YAML_BOMB = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
)
FORMULA_MESSAGE = "name: “=cmd|' /C calc'!A0” starts with =, so a spreadsheet would run it as a formula."
NESTED_TOO_DEEPLY = "This file is nested too deeply: a file of VMs is a list of items whose values are text"

VM_IMPORT_CASES = [
    case("vm-import-no-file", "machines:import", {"match": "address"}, REQUIRED),
    case("vm-import-empty-file", "machines:import", vm_file(b""), FILE_EMPTY),
    case(
        "vm-import-wrong-delimiter",
        "machines:import",
        vm_file("name;host;port;username\nweb;web.lab.example;22;u\n"),
        "The columns of this file are separated by “;”, not by commas: save it as CSV with commas",
    ),
    case(
        "vm-import-bom",
        "machines:import",
        vm_file("\ufeffname,host,port,username\nweb,web.lab.example,22,u\n"),
        "The file starts with a UTF-8 byte order mark (Excel writes one): it was ignored.",
    ),
    case(
        "vm-import-utf16",
        "machines:import",
        vm_file("name,host,port,username\nweb,web.lab.example,22,u\n".encode("utf-16")),
        "This file is UTF-16 text (Excel's “Unicode Text” is UTF-16): save it as UTF-8",
    ),
    case(
        "vm-import-latin1",
        "machines:import",
        vm_file("name,host,port,username\ncafé,web.lab.example,22,u\n".encode("latin-1")),
        "This file is not UTF-8 text (byte 28)",
    ),
    case(
        "vm-import-duplicate-rows",
        "machines:import",
        vm_csv("web,web.lab.example,22,u", "web again,WEB.lab.example,22,u"),
        "The same host, port and username as row 3: a file gives each VM once.",
    ),
    case("vm-import-port-0", "machines:import", vm_csv("web,web.lab.example,0,u"), f"port: {PORT_TOO_LOW}"),
    case(
        "vm-import-port-70000",
        "machines:import",
        vm_csv("web,web.lab.example,70000,u"),
        "port: Ensure this value is less than or equal to 65535.",
    ),
    case("vm-import-host-with-space", "machines:import", vm_csv("web,exa mple.com,22,u"), f"host: {HOST_INVALID}"),
    case(
        "vm-import-1-mib-cell",
        "machines:import",
        vm_csv("x" * 2**20 + ",web.lab.example,22,u"),
        "name: this cell holds 1,048,576 characters; a cell holds at most 32,768 (an SSH key at most 16 KiB).",
    ),
    case(
        "vm-import-formula", "machines:import", vm_csv("\"=cmd|' /C calc'!A0\",web.lab.example,22,u"), FORMULA_MESSAGE
    ),
    case(
        "vm-import-unknown-assignee",
        "machines:import",
        vm_csv("web,web.lab.example,22,u,nobody", header="name,host,port,username,assigned_to"),
        "assigned_to: there is no active regular or sidekick user named “nobody”.",
    ),
    case(
        "vm-import-passphrase-key",
        "machines:import",
        vm_json({"ssh_key": PASSPHRASE_PROTECTED_KEY}),
        f"ssh_key: This private key is protected by a passphrase. {PASSPHRASE_REFUSED}",
    ),
    case("vm-import-damaged-key", "machines:import", vm_json({"ssh_key": KEY_CUT_SHORT}), KEY_DAMAGED),
    case("vm-import-public-key", "machines:import", vm_json({"ssh_key": PUBLIC_KEY}), PUBLIC_KEY_GIVEN),
    case(
        "vm-import-yaml-bomb",
        "machines:import",
        vm_file(YAML_BOMB, "bomb.yaml"),
        "YAML anchors and aliases (&name, *name, line 1) are not accepted: write every VM out in full.",
    ),
    case(
        "vm-import-deep-json", "machines:import", vm_file("[" * 100_000 + "]" * 100_000, "deep.json"), NESTED_TOO_DEEPLY
    ),
    case(
        "vm-import-yaml-no-as-name",
        "machines:import",
        vm_file("- {name: no, host: web.lab.example, username: u}\n", "vms.yaml"),
        "name: False is not text; write it in quotes.",
    ),
    case(
        "vm-import-ssh-config-include",
        "machines:import",
        vm_file("Host web\n  HostName web.lab.example\n  User u\nInclude ~/.ssh/config.d/*\n", "config"),
        "Line 4: Include is not accepted: VM Lab never reads other files on the server.",
    ),
    case(
        "vm-import-over-max-rows",
        "machines:import",
        vm_csv(*(f"vm{number},vm{number}.lab.example,22,u" for number in range(5001))),
        "This file has more than 5,000 VMs; an import takes at most 5,000 (IMPORT_MAX_ROWS): split it into smaller",
    ),
    case(
        "vm-import-over-request-limit",
        "machines:import",
        {"file": Upload(name="vms.csv", oversize=True)},
        TOO_LARGE_PAGE,
        status=413,
    ),
    case(
        "vm-import-unknown-format",
        "machines:import",
        vm_file("host,username\nweb.lab.example,u\n", "vms.txt"),
        "VM Lab cannot tell the format of “vms.txt” from its name: choose it.",
    ),
]


def personal_field_cases(page, data):
    """The same bad inputs on registration and on the profile: `data(**changes)` builds an otherwise valid post."""
    form = page.split(":")[1]
    return [
        case(f"{form}-username-151-chars", page, data(username="u" * 151), too_long(150, 151)),
        case(f"{form}-email-255-chars", page, data(email=EMAIL_255_CHARS), too_long(254, 255)),
        case(f"{form}-first-name-151-chars", page, data(first_name="f" * 151), too_long(150, 151)),
        case(f"{form}-last-name-151-chars", page, data(last_name="l" * 151), too_long(150, 151)),
        case(f"{form}-username-Alice-vs-alice", page, data(username="Alice"), USERNAME_TAKEN),
        case(f"{form}-email-in-capitals", page, data(email="ALICE@EXAMPLE.ORG"), EMAIL_TAKEN),
        case(f"{form}-email-invalid", page, data(email="alice@"), INVALID_EMAIL),
        case(f"{form}-username-with-space", page, data(username="new comer"), "Enter a valid username"),
    ]


NEW_PASSWORD = "a brand new lab passphrase"

ACCOUNT_CASES = [
    *personal_field_cases("accounts:register", registration),
    case(
        "register-passwords-differ",
        "accounts:register",
        registration(password2="another long passphrase"),
        "The two password fields didn\N{RIGHT SINGLE QUOTATION MARK}t match.",  # Django's typographic apostrophe
    ),
    case(
        "register-common-password",
        "accounts:register",
        registration(password1="password123", password2="password123"),
        "This password is too common.",
    ),
    *personal_field_cases("accounts:profile", profile),
    case(
        "profile-email-without-current-password",
        "accounts:profile",
        profile(email="mia@lab.example", current_password=""),
        "Enter your current password to change your username or e-mail address.",
    ),
    case(
        "password-change-new-passwords-differ",
        "accounts:password_change",
        {"old_password": DEFAULT_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": "something else entirely"},
        "The two password fields didn\N{RIGHT SINGLE QUOTATION MARK}t match.",
    ),
    case(
        "password-change-common-password",
        "accounts:password_change",
        {"old_password": DEFAULT_PASSWORD, "new_password1": "password123", "new_password2": "password123"},
        "This password is too common.",
    ),
    case("set-role-admin-as-manager", "people:user_set_role", {"role": "admin"}, "Choose one of the roles offered."),
    case("set-role-unknown", "people:user_set_role", {"role": "boss"}, "Choose one of the roles offered."),
    case("approve-as-admin-by-manager", "people:user_approve", {"role": "admin"}, "Choose one of the roles offered."),
]

PAGE_CASES = [
    *VM_CREATE_CASES,
    *VM_EDIT_AND_ASSIGN_CASES,
    *SSH_KEY_CASES,
    *VM_SECRET_CASES,
    *BOOKMARK_CASES,
    *IMPORT_CASES,
    *VM_IMPORT_CASES,
    *ACCOUNT_CASES,
]

# --- Commands: (command arguments, files, message) ------------------------------------------------------------------


def seed_file(yaml_text: str | bytes) -> dict:
    return {"users.yaml": yaml_text}


def user_entry(username: str, email: str | None = None, role: str = "regular") -> str:
    email = email if email is not None else f"{username}@example.org"
    return f"  - username: {username}\n    email: {email}\n    role: {role}\n"


SEED = ("seed_users", "--file", "{tmp}/users.yaml", "--password", "a long seed passphrase")


def command_case(case_id, args, files, message):
    return pytest.param(args, files, message, id=case_id)


COMMAND_CASES = [
    command_case("seed-yaml-syntax-error", SEED, seed_file("users: [\n  - username: a\n"), "not valid YAML"),
    command_case(
        "seed-top-level-list",
        SEED,
        seed_file(user_entry("ann")),
        "expected a mapping with a 'users' list at the top level",
    ),
    command_case(
        "seed-users-is-a-mapping",
        SEED,
        seed_file("users:\n  username: ann\n  email: ann@example.org\n"),
        "expected a mapping with a 'users' list at the top level",
    ),
    command_case("seed-empty-file", SEED, seed_file(""), "expected a mapping with a 'users' list at the top level"),
    command_case(
        "seed-user-is-a-string",
        SEED,
        seed_file("users:\n  - ann\n"),
        "user #1: expected a mapping of username, email, role",
    ),
    command_case(
        "seed-unknown-role",
        SEED,
        seed_file("users:\n" + user_entry("ann", role="boss")),
        "user #1 (ann): unknown role 'boss'; use one of new_user, regular, sidekick, manager, admin",
    ),
    command_case(
        "seed-missing-email",
        SEED,
        seed_file("users:\n  - username: ann\n    role: regular\n"),
        "user #1: missing email",
    ),
    command_case(
        "seed-empty-email",
        SEED,
        seed_file("users:\n  - username: ann\n    email:\n    role: regular\n"),
        "user #1: email has no value: fill it in",
    ),
    command_case(
        "seed-misspelt-key",
        SEED,
        seed_file("users:\n" + user_entry("ann") + "    frist_name: Ann\n"),
        "user #1: unknown key(s) frist_name",
    ),
    command_case(
        "seed-number-as-username",
        SEED,
        seed_file("users:\n" + user_entry("1234")),
        "user #1: every value must be text; write username in quotes",
    ),
    command_case(
        "seed-usernames-differ-by-case",
        SEED,
        seed_file("users:\n" + user_entry("bob") + user_entry("Bob", email="bob2@example.org")),
        "user #2 (Bob): the username appears twice in the file",
    ),
    command_case(
        "seed-emails-differ-by-case",
        SEED,
        seed_file("users:\n" + user_entry("bob") + user_entry("rob", email="BOB@example.org")),
        "user #2 (rob): the e-mail BOB@example.org appears twice in the file",
    ),
    command_case(
        "seed-email-of-existing-user-in-capitals",
        SEED,
        seed_file("users:\n" + user_entry("ann") + user_entry("alice2", email="ALICE@example.org")),
        "user alice2: A user with that e-mail address already exists.",
    ),
    command_case(
        "seed-invalid-email-after-a-valid-user",
        SEED,
        seed_file("users:\n" + user_entry("ann") + user_entry("bob", email="bob-at-example.org")),
        "user bob: email: Enter a valid email address.",
    ),
    command_case(
        "seed-weak-password",
        ("seed_users", "--file", "{tmp}/users.yaml", "--password", "123"),
        seed_file("users:\n" + user_entry("ann")),
        "This password is too short.",
    ),
    command_case(
        "seed-not-utf8",
        SEED,
        seed_file("users:\n  - username: Zoë\n".encode("latin-1")),
        "Cannot read {tmp}/users.yaml: save it as UTF-8 text",
    ),
    command_case("seed-missing-file", SEED, {}, "Cannot read {tmp}/users.yaml: [Errno 2] No such file or directory"),
    *(
        command_case(
            f"import-vms-{case_id}", ("import_vms", f"{{tmp}}/{name}", "--owner", "mia"), {name: content}, message
        )
        for case_id, name, content, message in [
            (
                "row-error",
                "vms.csv",
                "name,host,port,username\nweb,web.lab.example,0,u\n",
                f"row 2: port: {PORT_TOO_LOW}",
            ),
            ("formula", "vms.csv", "name,host,username\n=1+1,web.lab.example,u\n", "row 2: name: “=1+1” starts with ="),
            ("yaml-bomb", "vms.yaml", YAML_BOMB, "YAML anchors and aliases (&name, *name, line 1) are not accepted"),
            ("deep-json", "vms.json", "[" * 100_000 + "]" * 100_000, NESTED_TOO_DEEPLY),
            ("include", "config", "Include /etc/ssh/ssh_config\n", "Line 1: Include is not accepted"),
            ("utf16", "vms.csv", "host,username\na.example,u\n".encode("utf-16"), "This file is UTF-16 text"),
            ("unknown-format", "vms.txt", "host,username\n", "Cannot tell the format of {tmp}/vms.txt from its name"),
            ("too-large", "vms.csv", b"#" * (3 * 2**20 + 1), "This file is larger than 3\xa0MiB, the most an import"),
        ]
    ),
    command_case(
        "import-vms-unknown-owner",
        ("import_vms", "{tmp}/vms.csv", "--owner", "ghost"),
        {"vms.csv": "host,username\na.example,u\n"},
        "There is no user named ghost.",
    ),
    command_case(
        "import-vms-owner-cannot-own",
        ("import_vms", "{tmp}/vms.csv", "--owner", "alice"),
        {"vms.csv": "host,username\na.example,u\n"},
        "alice cannot own VMs: owners are active sidekicks, managers or admins.",
    ),
    command_case(
        "import-vms-missing-file",
        ("import_vms", "{tmp}/vms.csv", "--owner", "mia"),
        {},
        "Cannot read {tmp}/vms.csv: [Errno 2] No such file or directory",
    ),
    command_case(
        "import-vms-unknown-format-option",
        ("import_vms", "{tmp}/vms.csv", "--owner", "mia", "--format", "xlsx"),
        {},
        "argument --format: invalid choice: 'xlsx'",
    ),
    command_case("rotate-batch-size-0", ("rotate_encryption_keys", "--batch-size", "0"), {}, "at least 1"),
    command_case("rotate-batch-size-minus-1", ("rotate_encryption_keys", "--batch-size", "-1"), {}, "at least 1"),
    command_case(
        "rotate-batch-size-abc",
        ("rotate_encryption_keys", "--batch-size", "abc"),
        {},
        "argument --batch-size: invalid int value: 'abc'",
    ),
]


# --- The world every case runs in --------------------------------------------------------------------------------


@dataclass
class World:
    member: User  # the manager who posts: may own VMs, keep bookmarks and assign VMs
    alice: User
    newcomer: User
    disabled: User
    vm: VirtualMachine
    mark: Bookmark

    def url(self, page: str) -> str:
        target = OBJECT_PAGES.get(page)
        return reverse(page, args=[getattr(self, target).pk]) if target else reverse(page)

    def resolve(self, data: dict) -> dict:
        """`data` with Refs and Uploads made real."""
        resolved = {}
        for name, value in data.items():
            if isinstance(value, Ref):
                value = getattr(self, value.name).pk
            elif isinstance(value, Upload):
                value = value.as_file()
            resolved[name] = value
        return resolved


@pytest.fixture
def world(db):
    member = UserFactory(**{name: VALID_PROFILE[name] for name in PERSONAL_FIELDS}, role=Role.MANAGER)
    return World(
        member=member,
        alice=UserFactory(username="alice", email="alice@example.org", role=Role.REGULAR),
        newcomer=UserFactory(username="rookie", role=Role.NEW_USER),
        disabled=UserFactory(username="gone", role=Role.SIDEKICK, is_active=False),
        vm=VirtualMachineFactory(owner=member, password="vm password", ssh_key=PRIVATE_KEY),
        mark=BookmarkFactory(owner=member, name="Wiki", link="https://wiki.lab.example/"),
    )


def open_page(client, world: World, page: str, data: dict) -> dict:
    """Sign in (registration is for visitors) and return what the browser would post: `data` over the hidden
    inputs of a stateful form. Done before the snapshot, since logging in is recorded in the audit trail."""
    if page not in ANONYMOUS_PAGES:
        client.force_login(world.member)
    opened = hidden_inputs(client.get(world.url(page))) if page in STATEFUL_FORMS else {}
    return {**opened, **world.resolve(data)}


@pytest.mark.parametrize(("page", "data", "message", "status"), PAGE_CASES)
def test_a_form_refuses_bad_input_with_a_message_and_writes_nothing(client, world, page, data, message, status):
    posted = open_page(client, world, page, data)
    before = db_rows()

    response = client.post(world.url(page), posted, follow=True)

    assert response.status_code == status
    assert message in message_shown(response)
    assert db_rows() == before


@pytest.mark.parametrize(("args", "files", "message"), COMMAND_CASES)
def test_a_command_refuses_bad_input_with_a_message_and_writes_nothing(world, tmp_path, args, files, message):
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content, encoding="utf-8")
    before = db_rows()

    with pytest.raises(CommandError) as refused:
        call_command(*(arg.format(tmp=tmp_path) for arg in args), stdout=StringIO(), stderr=StringIO())

    assert message.format(tmp=tmp_path) in str(refused.value)
    assert db_rows() == before


# --- Controls: the same pages and commands do write when the input is good, so "unchanged" above means refused. ---


@pytest.mark.parametrize(
    ("page", "data"),
    [
        ("machines:create", vm(ssh_key_file=Upload(PRIVATE_KEY.encode(), "id_ed25519"))),
        ("machines:edit", vm(name="renamed")),
        ("machines:assign", {"assigned_to": Ref("alice")}),
        ("machines:ssh_key", {"ssh_key": PRIVATE_KEY}),
        ("machines:password", {"password": "p" * 1024}),
        ("machines:reveal", {"secret": "password", "account_password": DEFAULT_PASSWORD}),
        ("bookmarks:create", bookmark(tags="a b")),
        ("bookmarks:edit", bookmark()),
        ("bookmarks:import", bookmark_file(netscape('<DT><A HREF="https://a.example">A</A>\n'))),
        ("accounts:register", registration()),
        ("accounts:profile", profile(username="Mia2")),
        (
            "accounts:password_change",
            {"old_password": DEFAULT_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        ),
        ("people:user_set_role", {"role": "sidekick"}),
        ("people:user_approve", {"role": "regular"}),
    ],
)
def test_the_same_pages_save_good_input(client, world, page, data):
    posted = open_page(client, world, page, data)
    before = db_rows()

    response = client.post(world.url(page), posted, follow=True)

    assert response.status_code == 200
    assert db_rows() != before


def test_the_same_commands_write_with_good_input(world, tmp_path):
    (tmp_path / "users.yaml").write_text("users:\n" + user_entry("ann"), encoding="utf-8")
    before = db_rows()

    call_command(*(arg.format(tmp=tmp_path) for arg in SEED), stdout=StringIO())

    assert db_rows() != before
