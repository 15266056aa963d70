"""connect.ssh against a real SSH server: each way in, and each way a connection fails, by name."""

import socket

import asyncssh
import pytest
from asgiref.sync import async_to_sync
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519

from connect.ssh import ConnectError, FailureKind, Step, Target, connect, fingerprint, public_key_line
from connect.tests.sshserver import KEY_USER, PASSWORD, PASSWORD_USER, SSHTestServer


def run_command(target: Target, command: str, **options) -> str:
    async def scenario():
        async with await connect(target, timeout=10, **options) as connection:
            result = await connection.run(command, check=True)
            return result.stdout

    return async_to_sync(scenario)()


def failure(target: Target, **options) -> ConnectError:
    async def scenario():
        # Generous: only the timeout test waits for it, and a busy machine must not fail the others.
        connection = await connect(target, timeout=options.pop("timeout", 10), **options)
        connection.close()

    with pytest.raises(ConnectError) as caught:
        async_to_sync(scenario)()
    return caught.value


@pytest.fixture
def password_target(ssh_server):
    return Target(ssh_server.host, ssh_server.port, PASSWORD_USER, password=PASSWORD, host_key=ssh_server.host_key_line)


def test_logs_in_with_the_stored_password(password_target):
    assert run_command(password_target, "whoami") == "alice\r\n"


def test_logs_in_with_the_stored_key(ssh_server):
    target = Target(
        ssh_server.host,
        ssh_server.port,
        KEY_USER,
        private_key=ssh_server.client_key_pem,
        host_key=ssh_server.host_key_line,
    )
    assert run_command(target, "whoami") == "bob\r\n"


def test_a_pkcs8_pem_key_works_too(ssh_server):
    pem = ssh_server.client_key.export_private_key("pkcs8-pem").decode()
    target = Target(ssh_server.host, ssh_server.port, KEY_USER, private_key=pem, host_key=ssh_server.host_key_line)
    assert run_command(target, "whoami") == "bob\r\n"


def test_first_connection_offers_the_key_and_does_not_log_in(ssh_server):
    target = Target(ssh_server.host, ssh_server.port, PASSWORD_USER, password=PASSWORD)
    error = failure(target)
    assert error.kind == FailureKind.HOST_KEY_UNKNOWN
    assert error.step == Step.HANDSHAKE
    assert error.offered_fingerprint == ssh_server.host_key_fingerprint
    assert ssh_server.host_key_fingerprint in error.message
    assert error.offered_fingerprint.startswith("SHA256:")


def test_a_confirmed_key_lets_the_first_connection_through(ssh_server):
    target = Target(ssh_server.host, ssh_server.port, PASSWORD_USER, password=PASSWORD)
    offered = failure(target).offered_key
    assert run_command(target, "whoami", trust=offered) == "alice\r\n"


def test_a_changed_key_is_refused_with_a_warning(ssh_server, other_host_key):
    target = Target(
        ssh_server.host, ssh_server.port, PASSWORD_USER, password=PASSWORD, host_key=public_key_line(other_host_key)
    )
    error = failure(target)
    assert error.kind == FailureKind.HOST_KEY_CHANGED
    assert "WARNING: the host key" in error.message
    assert fingerprint(other_host_key) in error.message
    assert ssh_server.host_key_fingerprint in error.message


def test_a_stored_key_of_a_type_the_server_lacks_is_a_changed_key(ssh_server):
    rsa_key = asyncssh.generate_private_key("ssh-rsa", key_size=2048)
    target = Target(
        ssh_server.host, ssh_server.port, PASSWORD_USER, password=PASSWORD, host_key=public_key_line(rsa_key)
    )
    error = failure(target)
    assert error.kind == FailureKind.HOST_KEY_CHANGED, error.message
    assert error.offered_fingerprint == ssh_server.host_key_fingerprint  # the key it has now, to compare


def test_the_stored_key_type_is_asked_for_when_the_server_has_several(ssh_server):
    # asyncssh's default order puts RSA first: the server would show its RSA key, not the stored Ed25519 one.
    rsa_key = asyncssh.generate_private_key("ssh-rsa", key_size=2048)
    server = SSHTestServer(host_key=rsa_key, client_key=ssh_server.client_key, other_host_keys=[ssh_server.host_key])
    server.start()
    try:
        target = Target(server.host, server.port, PASSWORD_USER, password=PASSWORD, host_key=ssh_server.host_key_line)
        assert run_command(target, "whoami") == "alice\r\n"  # not refused for offering its RSA key
    finally:
        server.stop()


def test_wrong_password_is_an_authentication_failure(password_target):
    target = Target(**{**password_target.__dict__, "password": "not-it"})
    error = failure(target)
    assert error.kind == FailureKind.AUTH_FAILED
    assert error.step == Step.LOGIN
    assert "refused the stored password" in error.message
    assert "not-it" not in error.message


def test_no_credentials_is_named_as_such(password_target):
    target = Target(**{**password_target.__dict__, "password": ""})
    assert failure(target).kind == FailureKind.NO_CREDENTIALS


def test_refused_port(closed_port):
    error = failure(Target("127.0.0.1", closed_port, "alice", password="x"))
    assert (error.kind, error.step) == (FailureKind.REFUSED, Step.TCP)
    assert "refused the connection" in error.message


def test_name_that_does_not_resolve(monkeypatch):
    async def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr("asyncio.base_events.BaseEventLoop.getaddrinfo", no_such_name)
    error = failure(Target("no-such-vm.lab.invalid", 22, "alice", password="x"))
    assert (error.kind, error.step) == (FailureKind.DNS, Step.LOOKUP)
    assert "no-such-vm.lab.invalid" in error.message


def test_server_that_never_answers_times_out(silent_server):
    error = failure(Target("127.0.0.1", silent_server.port, "alice", password="x"), timeout=0.5)
    assert (error.kind, error.step) == (FailureKind.TIMEOUT, Step.HANDSHAKE)
    assert "0.5 s" in error.message


def test_something_that_is_not_an_ssh_server(non_ssh_server):
    error = failure(Target("127.0.0.1", non_ssh_server.port, "alice", password="x"))
    assert error.kind == FailureKind.PROTOCOL


def test_target_repr_hides_secrets():
    target = Target("h", 22, "u", password="pw-secret", private_key="key-secret")
    assert "pw-secret" not in repr(target)
    assert "key-secret" not in repr(target)


def test_a_stored_key_ssh_cannot_use_is_named_before_connecting(password_target):
    pem = x25519.X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    error = failure(Target(**{**password_target.__dict__, "private_key": pem.decode()}))
    assert error.kind == FailureKind.UNUSABLE_KEY
    assert "cannot log in with" in error.message


def test_an_unexpected_error_becomes_a_connect_error_without_its_arguments(password_target, monkeypatch, caplog):
    async def broken_connect(*args, **kwargs):
        raise RuntimeError(f"unexpected, with {kwargs['password']}")

    monkeypatch.setattr(asyncssh, "connect", broken_connect)
    error = failure(password_target)
    assert error.kind == FailureKind.PROTOCOL
    assert PASSWORD not in error.message
    assert error.__cause__ is None and error.__suppress_context__  # no chained frames for a debug page
    assert "Unexpected error connecting to 127.0.0.1" in caplog.text


def test_no_certificate_authority_or_local_file_is_trusted(password_target, monkeypatch):
    """What asyncssh is told: only the stored key vouches for the server; nothing from ~/.ssh of this process."""
    seen = {}
    real_connect = asyncssh.connect

    async def spying_connect(*args, **kwargs):
        seen.update(kwargs)
        return await real_connect(*args, **kwargs)

    monkeypatch.setattr(asyncssh, "connect", spying_connect)
    run_command(password_target, "whoami")

    assert seen["x509_trusted_certs"] is None and seen["x509_trusted_cert_paths"] == []
    assert seen["config"] is None and seen["agent_path"] is None
    assert [len(keys) for keys in seen["known_hosts"]] == [1, 0, 0]
    assert not [algorithm for algorithm in seen["server_host_key_algs"] if "cert" in algorithm]
