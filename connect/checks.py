"""What the connection test finds, step by step, and the two probes it and the host-key confirmation make.

The probes connect through connect.ssh.connect like the terminal and the file pages, so the steps, the host-key
check and the failure messages are theirs.
"""

from dataclasses import dataclass

import asyncssh
from django.utils.translation import gettext_lazy

from connect.ssh import ConnectError, FailureKind, Step, Target, connect

STEP_LABELS = {
    Step.LOOKUP: gettext_lazy("Name lookup"),
    Step.TCP: gettext_lazy("Port reachable"),
    Step.HANDSHAKE: gettext_lazy("SSH handshake / host key"),
    Step.LOGIN: gettext_lazy("Login with the stored credentials"),
}

PASSED, FAILED, TO_CONFIRM, NOT_TRIED = "passed", "failed", "to confirm", "not tried"


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


async def server_version(target: Target, timeout: float) -> str:
    async with await connect(target, timeout=timeout) as connection:
        return connection.get_extra_info("server_version") or ""


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
