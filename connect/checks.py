"""The connection test and what it finds, step by step; and the host key a server offers, for a user to confirm.

Both connect through connect.ssh.connect like the terminal and the file pages, so the steps, the host-key check and
the failure messages are theirs. connect.services runs them for a user: access, connection limit, audit.
"""

import time
from dataclasses import dataclass

import asyncssh
from django.utils.translation import gettext_lazy

from connect.ssh import ConnectError, FailureKind, Step, Target, connect, key_algorithm

STEP_LABELS = {
    Step.LOOKUP: gettext_lazy("Name lookup"),
    Step.TCP: gettext_lazy("Port reachable"),
    Step.HANDSHAKE: gettext_lazy("SSH handshake / host key"),
    Step.LOGIN: gettext_lazy("Login with the stored credentials"),
}

# Shown as the step's badge: lazy, so that each page shows them in its reader's language.
PASSED, FAILED, TO_CONFIRM, NOT_TRIED = (
    gettext_lazy("passed"),
    gettext_lazy("failed"),
    gettext_lazy("to confirm"),
    gettext_lazy("not tried"),
)


@dataclass(frozen=True)
class StepResult:
    label: str
    state: str  # PASSED, FAILED, TO_CONFIRM or NOT_TRIED
    message: str = ""

    @property
    def badge(self) -> str:
        return {PASSED: "badge-ok", FAILED: "badge-danger", TO_CONFIRM: "badge-warn"}.get(self.state, "")


def step_results(failure: ConnectError | None = None, *, tried: bool = True) -> list[StepResult]:
    """One row per step: passed up to the failed one, not tried after it (nor before it if nothing was `tried`).

    A first connection stops at the host key for the user to confirm it: no failure, and the page explains it
    in the confirmation form instead of the row.
    """
    if failure is None:
        return [StepResult(label, PASSED) for label in STEP_LABELS.values()]
    if failure.kind == FailureKind.HOST_KEY_UNKNOWN:
        stopped = StepResult(STEP_LABELS[failure.step], TO_CONFIRM)
    else:
        stopped = StepResult(STEP_LABELS[failure.step], FAILED, failure.message)
    results = []
    reached = False
    for step, label in STEP_LABELS.items():
        if step == failure.step:
            results.append(stopped)
            reached = True
        else:
            results.append(StepResult(label, PASSED if tried and not reached else NOT_TRIED))
    return results


def host_key_file(algorithm: str) -> str:
    """Where OpenSSH keeps the server's public key of that type, for the user to compare fingerprints."""
    if algorithm.startswith("ecdsa-"):
        kind = "ecdsa"
    else:
        kind = {"ssh-ed25519": "ed25519", "ssh-rsa": "rsa", "ssh-dss": "dsa"}.get(algorithm, "ed25519")
    return f"/etc/ssh/ssh_host_{kind}_key.pub"


@dataclass(frozen=True)
class OfferedKey:
    """The host key a first connection stops at, with what the user needs to check it on the server."""

    fingerprint: str
    algorithm: str

    @property
    def key_file(self) -> str:
        return host_key_file(self.algorithm)


@dataclass(frozen=True)
class ConnectionTest:
    """A connection test as its page shows it: every step, then the failure, or what the server said."""

    steps: list[StepResult]
    failure: ConnectError | None = None
    server_version: str = ""
    seconds: float = 0.0

    @classmethod
    def failed(cls, failure: ConnectError, *, tried: bool = True) -> "ConnectionTest":
        return cls(steps=step_results(failure, tried=tried), failure=failure)

    @property
    def failed_step(self) -> str:
        return STEP_LABELS[self.failure.step] if self.failure is not None else ""

    @property
    def offered(self) -> OfferedKey | None:
        """The key to confirm, after a first connection."""
        if self.failure is None or self.failure.kind != FailureKind.HOST_KEY_UNKNOWN:
            return None
        return OfferedKey(self.failure.offered_fingerprint, key_algorithm(self.failure.offered_key))

    @property
    def host_key_changed(self) -> bool:
        return self.failure is not None and self.failure.kind == FailureKind.HOST_KEY_CHANGED


async def connection_test(target: Target, timeout: float) -> ConnectionTest:
    """Connect and log in to `target`, then log out at once."""
    started = time.monotonic()
    try:
        async with await connect(target, timeout=timeout) as connection:
            version = connection.get_extra_info("server_version") or ""
    except ConnectError as error:
        return ConnectionTest.failed(error)
    return ConnectionTest(steps=step_results(), server_version=version, seconds=time.monotonic() - started)


async def offered_key(target: Target, timeout: float) -> asyncssh.SSHKey:
    """The host key the server offers to a client that trusts none: a first connection always stops there."""
    try:
        async with await connect(target, timeout=timeout):
            pass
    except ConnectError as error:
        if error.kind == FailureKind.HOST_KEY_UNKNOWN:
            return error.offered_key
        raise
    raise AssertionError("connect() trusts no key it was not given")
