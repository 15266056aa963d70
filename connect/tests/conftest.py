import socket

import asyncssh
import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.db import connections

from access.roles import Role
from accounts.tests.factories import UserFactory
from connect.tests.sshserver import KEY_USER, PASSWORD, PASSWORD_USER, SilentServer, SSHTestServer
from machines.tests.factories import VirtualMachineFactory


@pytest.fixture(scope="session")
def ssh_server():
    server = SSHTestServer(
        host_key=asyncssh.generate_private_key("ssh-ed25519"),
        client_key=asyncssh.generate_private_key("ssh-ed25519"),
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def other_host_key():
    """A key the test server does not have: stored on a VM, it makes the server's key a changed one."""
    return asyncssh.generate_private_key("ssh-ed25519")


@pytest.fixture
def silent_server():
    server = SilentServer().start()
    yield server
    server.stop()


@pytest.fixture
def non_ssh_server():
    server = SilentServer(greeting=b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").start()
    yield server
    server.stop()


@pytest.fixture
def closed_port():
    """A port on 127.0.0.1 where nothing listens: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _quick_timeouts(settings):
    settings.SSH_CONNECT_TIMEOUT = 3


@pytest.fixture
def vm_owner(db):
    return UserFactory(role=Role.SIDEKICK)


@pytest.fixture
def vm_on_server(ssh_server, vm_owner):
    """Make a VM on the test server: owned by vm_owner, logging in as alice, its host key trusted; any field
    can be given, and trusted=False leaves the host key unconfirmed."""

    def make(*, trusted=True, **fields):
        values = {"owner": vm_owner, "host": ssh_server.host, "port": ssh_server.port, "username": PASSWORD_USER}
        if trusted:
            values |= {"host_key": ssh_server.host_key_line, "host_key_fingerprint": ssh_server.host_key_fingerprint}
        return VirtualMachineFactory(**values | fields)

    return make


@pytest.fixture
def password_vm(vm_on_server):
    """A VM on the test server that logs in as alice with a password; its host key is already trusted."""
    return vm_on_server(password=PASSWORD)


@pytest.fixture
def key_vm(vm_on_server, ssh_server):
    """A VM on the test server that logs in as bob with an SSH key; its host key is already trusted."""
    return vm_on_server(username=KEY_USER, ssh_key=ssh_server.client_key_pem)


@pytest.fixture
def new_vm(vm_on_server):
    """A VM on the test server whose host key nobody has confirmed yet."""
    return vm_on_server(trusted=False, password=PASSWORD)


@pytest_asyncio.fixture
async def thread_db_connections_closed():
    """For async tests: database_sync_to_async runs queries in asgiref's one sync thread, whose connection
    would outlive the test and keep PostgreSQL from dropping the test database at the end."""
    yield
    await sync_to_async(connections.close_all)()
