"""Opening an SSH connection to a VM with its stored credentials.

The one place that decides whether a server's host key is trusted, and that names each way a connection
can fail (ConnectError.kind), for the terminal, the file pages and the connection test alike.
"""

import asyncio
import logging
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import asyncssh
from asyncssh.public_key import get_default_public_key_algs
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# SHA256:<base64 of 32 bytes, without padding>, as fingerprint() and `ssh-keygen -lf` print it.
FINGERPRINT_FORMAT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


class Step(StrEnum):
    """The stages of a connection, in order; a ConnectError names the one that failed."""

    LOOKUP = "lookup"
    TCP = "tcp"
    HANDSHAKE = "handshake"
    LOGIN = "login"


class FailureKind(StrEnum):
    DNS = "dns"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    HOST_KEY_UNKNOWN = "host_key_unknown"
    HOST_KEY_CHANGED = "host_key_changed"
    PROTOCOL = "protocol"
    AUTH_FAILED = "auth_failed"
    NO_CREDENTIALS = "no_credentials"
    UNUSABLE_KEY = "unusable_key"
    UNREADABLE_SECRET = "unreadable_secret"  # noqa: S105 (a failure's name, not a password)


class ConnectError(Exception):
    """A connection that failed, with a message for the user; `offered_key` is the server's key when known."""

    def __init__(self, kind: FailureKind, step: Step, message: str, offered_key: asyncssh.SSHKey | None = None):
        super().__init__(message)
        self.kind = kind
        self.step = step
        self.message = message
        self.offered_key = offered_key

    @property
    def offered_fingerprint(self) -> str:
        return fingerprint(self.offered_key) if self.offered_key is not None else ""


@dataclass(frozen=True)
class Target:
    """Where and how to log in. Built from a VM in synchronous code, where its secrets are decrypted."""

    host: str
    port: int
    username: str
    password: str = field(default="", repr=False)
    private_key: str = field(default="", repr=False)
    host_key: str = ""  # the trusted public key ("type base64"), empty until a user confirmed one

    @classmethod
    def of(cls, vm) -> "Target":
        """Reads (so decrypts) the VM's secrets: call it only to connect, never for a page."""
        return cls(
            host=vm.host,
            port=vm.port,
            username=vm.username,
            password=vm.password or "",
            private_key=vm.ssh_key or "",
            host_key=vm.host_key,
        )

    @property
    def has_credentials(self) -> bool:
        return bool(self.password or self.private_key)


def fingerprint(key: asyncssh.SSHKey) -> str:
    """SHA256:<base64>, as `ssh-keygen -lf` and OpenSSH's first-connection prompt print it."""
    return key.get_fingerprint("sha256")


def public_key_line(key: asyncssh.SSHKey) -> str:
    """The key as "type base64", without the comment: what VirtualMachine.host_key stores."""
    algorithm, data = key.export_public_key("openssh").decode().split()[:2]
    return f"{algorithm} {data}"


def key_algorithm(key: asyncssh.SSHKey) -> str:
    return key.get_algorithm()


class _HostKeyPolicy(asyncssh.SSHClient):
    """Trusts only the key passed to connect(); keeps any other key the server offers, to show or compare it."""

    def __init__(self):
        self.offered_key: asyncssh.SSHKey | None = None
        self.connection: asyncssh.SSHClientConnection | None = None

    def connection_made(self, conn):
        self.connection = conn

    def validate_host_public_key(self, host, addr, port, key):
        # asyncssh asks only about a key that is not the trusted one: never accept it silently.
        self.offered_key = key
        return False

    @property
    def handshake_done(self) -> bool:
        return self.connection is not None and self.connection.get_server_host_key() is not None


async def connect(
    target: Target,
    *,
    timeout: float,
    trust: asyncssh.SSHKey | None = None,
    keepalive_interval: float = 0,
) -> asyncssh.SSHClientConnection:
    """A logged-in connection, or ConnectError. Everything, from name lookup to login, within `timeout` seconds.

    The server must present `trust` if given, else the key stored on the target; a target with neither
    fails with HOST_KEY_UNKNOWN and the key the server offered, for a user to confirm.
    """
    trusted = trust
    if trusted is None and target.host_key:
        trusted = asyncssh.import_public_key(target.host_key)
    client_keys = _client_keys(target)
    policy = _HostKeyPolicy()
    step = Step.LOOKUP
    try:
        async with asyncio.timeout(timeout):
            addresses = await _lookup(target)
            step = Step.TCP
            sock = await _open_socket(target, addresses)
            step = Step.HANDSHAKE
            try:
                return await asyncssh.connect(
                    target.host,
                    target.port,
                    sock=sock,
                    client_factory=lambda: policy,
                    username=target.username,
                    password=target.password or None,
                    client_keys=client_keys,
                    known_hosts=([trusted] if trusted else [], [], []),
                    server_host_key_algs=_host_key_algorithms(trusted),
                    # Nothing from the server process's own environment: no ~/.ssh/config, agent or keys, and
                    # no certificate authority (X.509 bundles in ~/.ssh) that would vouch for a host silently.
                    x509_trusted_certs=None,
                    x509_trusted_cert_paths=[],
                    config=None,
                    agent_path=None,
                    gss_auth=False,
                    host_based_auth=False,
                    keepalive_interval=keepalive_interval,
                    login_timeout=None,
                    connect_timeout=None,
                )
            except BaseException:
                sock.close()
                raise
    except TimeoutError:
        if step == Step.HANDSHAKE and policy.handshake_done:
            step = Step.LOGIN
        raise ConnectError(FailureKind.TIMEOUT, step, _timeout_message(target, step, timeout)) from None
    except asyncssh.HostKeyNotVerifiable:
        raise _host_key_error(target, trusted, policy.offered_key) from None
    except asyncssh.KeyExchangeFailed as error:
        if trusted is not None and "host key" in str(error).lower():
            raise _host_key_error(target, trusted, None) from None
        raise _protocol_error(error) from None
    except asyncssh.PermissionDenied:
        raise _auth_error(target) from None
    except (asyncssh.Error, asyncssh.ConnectionLost, asyncio.IncompleteReadError, ConnectionError) as error:
        if step == Step.HANDSHAKE and policy.handshake_done:
            step = Step.LOGIN
        raise _protocol_error(error, step) from None
    except ConnectError:
        raise
    except Exception as error:
        # Never a raw exception: the frames of a debug page would show asyncssh's arguments, the password too.
        logger.exception("Unexpected error connecting to %s port %s", target.host, target.port)
        raise _protocol_error(error.__class__.__name__, step) from None


def _client_keys(target: Target) -> list | None:
    """The stored key as asyncssh loads it; None (no key authentication, no key files) without one."""
    if not target.private_key:
        return None
    try:
        return [asyncssh.import_private_key(target.private_key)]
    except (asyncssh.KeyImportError, ValueError):
        message = _("The stored SSH key is of a type SSH cannot log in with: set an RSA, ECDSA or Ed25519 key.")
        raise ConnectError(FailureKind.UNUSABLE_KEY, Step.LOGIN, message) from None


def _host_key_algorithms(trusted: asyncssh.SSHKey | None) -> Sequence[str]:
    """The trusted key's algorithms first, then the others, as OpenSSH orders them: a server that no longer has
    a key of the stored type offers another one, which is then refused as a changed key, naming both."""
    others = [algorithm.decode() for algorithm in get_default_public_key_algs()]
    if trusted is None:
        # Plain keys only: asyncssh would ask for certificates first, and no certificate authority is trusted.
        return others
    preferred = [algorithm.decode() for algorithm in trusted.sig_algorithms]
    return [*preferred, *(algorithm for algorithm in others if algorithm not in preferred)]


async def _lookup(target: Target) -> list[tuple]:
    loop = asyncio.get_running_loop()
    try:
        return await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        message = _("The host name “%(host)s” does not resolve: check the VM's host, or the server's DNS.")
        raise ConnectError(FailureKind.DNS, Step.LOOKUP, message % {"host": target.host}) from None


async def open_tcp(addresses: list[tuple]) -> socket.socket:
    """A TCP connection to the first of getaddrinfo's `addresses` that answers, as socket.create_connection tries
    them; the last address's OSError if none does. The terminal's connections and the probes share it."""
    loop = asyncio.get_running_loop()
    error: OSError = OSError("no address")
    for family, kind, proto, _name, address in addresses:
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
        except OSError as failure:
            sock.close()
            error = failure
        except BaseException:
            sock.close()
            raise
        else:
            return sock
    raise error


async def _open_socket(target: Target, addresses: list[tuple]) -> socket.socket:
    """open_tcp, its failure told as a ConnectError: refused, or unreachable and why."""
    try:
        return await open_tcp(addresses)
    except OSError as error:
        last_error = error
    where = {"host": target.host, "port": target.port}
    if isinstance(last_error, ConnectionRefusedError):
        message = _(
            "%(host)s refused the connection on port %(port)s: no SSH server listens there, or a firewall says no."
        )
        raise ConnectError(FailureKind.REFUSED, Step.TCP, message % where)
    message = _("%(host)s port %(port)s cannot be reached: %(reason)s.")
    reason = getattr(last_error, "strerror", None) or str(last_error)
    raise ConnectError(FailureKind.UNREACHABLE, Step.TCP, message % {**where, "reason": reason})


def _timeout_message(target: Target, step: Step, timeout: float) -> str:
    waiting_for = {
        Step.LOOKUP: _("the host name to resolve"),
        Step.TCP: _("a TCP connection"),
        Step.HANDSHAKE: _("the SSH handshake"),
        Step.LOGIN: _("the login"),
    }[step]
    message = _("No answer from %(host)s port %(port)s within %(seconds)g s, waiting for %(what)s.")
    return message % {"host": target.host, "port": target.port, "seconds": timeout, "what": waiting_for}


def _host_key_error(target: Target, trusted, offered) -> ConnectError:
    if trusted is None and offered is None:  # e.g. only a certificate, signed by no authority trusted here
        message = _("%(host)s offered no plain host key to confirm, so the connection was refused.")
        return ConnectError(FailureKind.PROTOCOL, Step.HANDSHAKE, message % {"host": target.host})
    if trusted is None:
        message = _(
            "This is the first connection to %(host)s. Its %(algorithm)s host key fingerprint is %(fingerprint)s. "
            "Check it with the server's administrator, then confirm it to connect."
        ) % {"host": target.host, "algorithm": key_algorithm(offered), "fingerprint": fingerprint(offered)}
        return ConnectError(FailureKind.HOST_KEY_UNKNOWN, Step.HANDSHAKE, message, offered)
    message = _(
        "WARNING: the host key of %(host)s has changed! The stored key is %(stored)s; the server offered %(offered)s. "
        "Someone could be intercepting the connection, or the server was reinstalled. The connection was refused. "
        "Once the new key is checked, the VM's owner or an admin can reset the stored key."
    ) % {
        "host": target.host,
        "stored": fingerprint(trusted),
        "offered": fingerprint(offered) if offered is not None else _("no key of that type"),
    }
    return ConnectError(FailureKind.HOST_KEY_CHANGED, Step.HANDSHAKE, message, offered)


def _auth_error(target: Target) -> ConnectError:
    if not target.has_credentials:
        message = _("This VM has no stored password or SSH key to log in with.")
        return ConnectError(FailureKind.NO_CREDENTIALS, Step.LOGIN, message)
    # One whole sentence for each set of credentials tried, for translators.
    if target.private_key and target.password:
        message = _("The server refused the stored SSH key and password for the user “%(username)s”.")
    elif target.private_key:
        message = _("The server refused the stored SSH key for the user “%(username)s”.")
    else:
        message = _("The server refused the stored password for the user “%(username)s”.")
    return ConnectError(FailureKind.AUTH_FAILED, Step.LOGIN, message % {"username": target.username})


def _protocol_error(error: Exception | str, step: Step = Step.HANDSHAKE) -> ConnectError:
    reason = getattr(error, "reason", "") or str(error) or error.__class__.__name__
    if step == Step.LOGIN:
        message = _("The server closed the connection during the login: %(reason)s")
    else:
        message = _("The SSH handshake failed (is this an SSH server?): %(reason)s")
    return ConnectError(FailureKind.PROTOCOL, step, message % {"reason": reason})
