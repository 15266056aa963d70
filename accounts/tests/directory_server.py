"""A real OpenLDAP server for the tests: Debian's slapd on a free loopback port, with a throw-away database
(python-ldap's slapdtest), one per test session. Without slapd the tests that need it are skipped, except under CI.

The lab's directory: people under ou=people, groupOfNames groups under ou=groups (students, staff), each person
with the inetOrgPerson attributes VM Lab reads (givenName, sn, mail).
"""

import contextlib
import os
import socket
import threading

import ldap
import ldap.modlist
import pytest

SUFFIX = "dc=lab,dc=example"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
STUDENTS = f"cn=students,{GROUPS}"
STAFF = f"cn=staff,{GROUPS}"
ROLE_GROUPS = f"regular={STUDENTS};manager={STAFF}"
# groupOfNames needs one member at least: this one is nobody.
PLACEHOLDER_MEMBER = f"cn=nobody,{SUFFIX}"


class Directory:
    """Adds, changes and removes entries as the directory's administrator."""

    def __init__(self, server):
        self.server = server
        self.uri = server.ldap_uri

    def _connection(self):
        connection = ldap.initialize(self.uri)
        connection.simple_bind_s(self.server.root_dn, self.server.root_pw)
        return connection

    def add(self, dn: str, attributes: dict) -> None:
        encoded = {name: [value.encode() for value in values] for name, values in attributes.items()}
        connection = self._connection()
        try:
            connection.add_s(dn, ldap.modlist.addModlist(encoded))
        finally:
            connection.unbind_s()

    def add_person(self, uid: str, password: str, *, given="Ada", family="Lovelace", mail=None, groups=()):
        dn = f"uid={uid},{PEOPLE}"
        attributes = {
            "objectClass": ["inetOrgPerson"],
            "uid": [uid],
            "cn": [f"{given} {family}"],
            "givenName": [given],
            "sn": [family],
            "userPassword": [password],
        }
        if mail != "":
            attributes["mail"] = [mail or f"{uid}@lab.example"]
        self.add(dn, attributes)
        for group in groups:
            self.join(dn, group)
        return dn

    def join(self, person_dn: str, group_dn: str) -> None:
        self._modify(group_dn, [(ldap.MOD_ADD, "member", [person_dn.encode()])])

    def leave(self, person_dn: str, group_dn: str) -> None:
        self._modify(group_dn, [(ldap.MOD_DELETE, "member", [person_dn.encode()])])

    def delete(self, dn: str) -> None:
        for group in (STUDENTS, STAFF):
            with contextlib.suppress(ldap.NO_SUCH_ATTRIBUTE):
                self.leave(dn, group)
        connection = self._connection()
        try:
            connection.delete_s(dn)
        finally:
            connection.unbind_s()

    def _modify(self, dn, changes):
        connection = self._connection()
        try:
            connection.modify_s(dn, changes)
        finally:
            connection.unbind_s()


@pytest.fixture(scope="session")
def ldap_directory(tmp_path_factory):
    """The session's OpenLDAP server, with the lab's base entries."""
    from slapdtest import SlapdObject

    class LabDirectory(SlapdObject):
        suffix = SUFFIX
        openldap_schema_files = ("core.ldif", "cosine.ldif", "inetorgperson.ldif")
        TMPDIR = str(tmp_path_factory.mktemp("slapd"))

    try:
        server = LabDirectory()
    except ValueError as missing:
        reason = f"LDAP tests need Debian's slapd and ldap-utils: {missing}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} CI must install them (make test does, with apt-get).", pytrace=False)
        pytest.skip(reason)
    server.start()
    directory = Directory(server)
    directory.add(SUFFIX, {"objectClass": ["dcObject", "organization"], "dc": ["lab"], "o": ["Lab"]})
    for unit in ("people", "groups"):
        directory.add(f"ou={unit},{SUFFIX}", {"objectClass": ["organizationalUnit"], "ou": [unit]})
    for group in (STUDENTS, STAFF):
        cn = group.split(",")[0].removeprefix("cn=")
        directory.add(group, {"objectClass": ["groupOfNames"], "cn": [cn], "member": [PLACEHOLDER_MEMBER]})
    yield directory
    server.stop()


@pytest.fixture
def directory_settings(ldap_directory, settings):
    """VM Lab signing in against the session's directory, students as regular users and staff as managers."""
    settings.LDAP_SERVER_URI = ldap_directory.uri
    settings.LDAP_BIND_DN = ldap_directory.server.root_dn
    settings.LDAP_BIND_PASSWORD = ldap_directory.server.root_pw
    settings.LDAP_USER_SEARCH_BASE = PEOPLE
    settings.LDAP_USER_FILTER = "(uid=%(user)s)"
    settings.LDAP_GROUP_SEARCH_BASE = GROUPS
    settings.LDAP_GROUP_TYPE = "groupOfNames"
    settings.LDAP_ROLE_GROUPS = ROLE_GROUPS
    settings.LDAP_ROLE_GROUPS_AUTHORITATIVE = False
    settings.LDAP_TIMEOUT = 5.0
    return ldap_directory


@pytest.fixture
def silent_ldap_port():
    """A loopback port that accepts connections and never answers: a directory that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    for connection in accepted:
        connection.close()
    listener.close()


@pytest.fixture
def closed_ldap_port():
    """A loopback port nobody listens on: a directory that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
