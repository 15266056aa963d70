"""`manage.py rotate_encryption_keys` on 100,000 secrets: .venv/bin/python bench/rotate_keys.py

The secrets are 50,000 VMs, each with a password and an SSH private key (an Ed25519 key in OpenSSH format,
the size most labs store), so both encrypted columns of a row are rewritten, as in a real rotation. The rows
are inserted with tokens made directly by Fernet under the old key. Then FIELD_ENCRYPTION_KEYS becomes
"new,old" and `call_command("rotate_encryption_keys")` is timed in this process. The baseline is the bare
cryptography work on the same tokens already in memory: `MultiFernet([new, old]).rotate(token)` in a loop,
no database. The ratio of the command's throughput to the bare one says what reading in batches with row
locks and writing back costs on top (goal: at least 0.5). Afterwards every token is decrypted with the new
key alone.

Memory: the command also runs in child processes on 25,000, 50,000 and 100,000 secrets (the table grows
between runs, each run moving every row to a newer key). Each child reports its peak RSS (ru_maxrss) after
Django's setup and after the command; rotating in batches should keep the peak flat as the rows grow. The peak
is VmHWM from /proc/self/status: ru_maxrss would carry over the parent's peak into a child started by fork.
"""

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import scratch

SECRETS_PER_VM = 2  # a password and an SSH key
MEMORY_STEPS = (25_000, 50_000, 100_000)  # secrets in the table for each child run; the last is also timed
INSERT_BATCH = 2_000
GOAL_RATIO = 0.5
CHILD_FLAG = "--child"


def ssh_private_key() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )


def insert_vms(owner, first: int, count: int, key: str, ssh_key: bytes) -> None:
    """`count` VMs whose password and SSH key are tokens made with `key` by Fernet itself, not by the field."""
    from cryptography.fernet import Fernet

    from machines.models import VirtualMachine
    from vmlab.core.fields import Ciphertext

    fernet = Fernet(key)
    for start in range(first, first + count, INSERT_BATCH):
        VirtualMachine.objects.bulk_create(
            VirtualMachine(
                name=f"vm-{number}",
                host=f"vm{number}.lab.example",
                username="labuser",
                owner=owner,
                password=Ciphertext(fernet.encrypt(f"password-{number}".encode()).decode()),
                ssh_key=Ciphertext(fernet.encrypt(ssh_key).decode()),
            )
            for number in range(start, min(start + INSERT_BATCH, first + count))
        )


def stored_tokens() -> list[bytes]:
    from machines.models import VirtualMachine

    rows = VirtualMachine.objects.order_by("pk").values_list("password", "ssh_key")
    return [secret.token.encode() for row in rows for secret in row]


def run_child(env: dict, keys: list[str]) -> dict:
    """The command in a fresh interpreter with FIELD_ENCRYPTION_KEYS=keys; returns what the child measured."""
    child_env = {**env, "FIELD_ENCRYPTION_KEYS": ",".join(keys)}
    result = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, __file__, CHILD_FLAG],
        cwd=scratch.ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"the child run failed:\n{result.stdout}{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def peak_rss_kib() -> int:
    """This process's peak resident set since it started (exec), in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise SystemExit("no VmHWM in /proc/self/status: peak memory cannot be measured here")


def child() -> None:
    """One rotation in this process; prints its command output and, last, a JSON line of measurements."""
    sys.path.insert(0, str(scratch.ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    after_setup = peak_rss_kib()
    output = io.StringIO()
    start = time.perf_counter()
    call_command("rotate_encryption_keys", stdout=output)
    seconds = time.perf_counter() - start
    peak = peak_rss_kib()
    print(output.getvalue().strip())
    print(json.dumps({"after_setup_kib": after_setup, "peak_kib": peak, "seconds": seconds}))


def use_keys(keys: list[str]) -> None:
    from django.conf import settings

    settings.FIELD_ENCRYPTION_KEYS = tuple(keys)
    os.environ["FIELD_ENCRYPTION_KEYS"] = ",".join(keys)


def verify(new_key: str, expected: int) -> tuple[int, int]:
    """(tokens the new key alone decrypts, tokens it does not), over every stored secret."""
    from cryptography.fernet import Fernet, InvalidToken

    fernet = Fernet(new_key)
    good = bad = 0
    for token in stored_tokens():
        try:
            fernet.decrypt(token)
            good += 1
        except InvalidToken:
            bad += 1
    bad += max(0, expected - good - bad)
    return good, bad


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def main() -> None:
    from cryptography.fernet import Fernet, MultiFernet

    with tempfile.TemporaryDirectory(prefix="vmlab-bench-") as workdir:
        env = scratch.bench_environment(Path(workdir), database="vmlab_bench_rotate_keys")
        try:
            scratch.setup_django()
            from django.core.management import call_command

            from access.roles import Role
            from accounts.models import User

            owner = User(username="bench-owner", email="bench-owner@bench.example", role=Role.SIDEKICK)
            owner.set_unusable_password()
            owner.save()
            ssh_key = ssh_private_key()
            keys = [env["FIELD_ENCRYPTION_KEYS"]] + [Fernet.generate_key().decode() for _ in MEMORY_STEPS]

            memory = []
            vms = 0
            for step, secret_count in enumerate(MEMORY_STEPS):
                added = secret_count // SECRETS_PER_VM - vms
                start = time.perf_counter()
                insert_vms(owner, vms, added, keys[step], ssh_key)
                vms += added
                print(f"setup: {added:,} VMs inserted in {time.perf_counter() - start:.1f} s ({vms:,} in all)")
                # Every row is under keys[step] now: this run moves all of them to keys[step + 1].
                measured = run_child(env, [keys[step + 1], keys[step]])
                memory.append((secret_count, measured))
                print(f"child run on {secret_count:,} secrets: {measured['seconds']:.1f} s")

            old_key, new_key = keys[-1], Fernet.generate_key().decode()
            tokens = stored_tokens()
            rotator = MultiFernet([Fernet(new_key), Fernet(old_key)])
            start = time.perf_counter()
            for token in tokens:
                rotator.rotate(token)
            bare_seconds = time.perf_counter() - start

            use_keys([new_key, old_key])
            output = io.StringIO()
            start = time.perf_counter()
            call_command("rotate_encryption_keys", stdout=output)
            command_seconds = time.perf_counter() - start
            good, bad = verify(new_key, len(tokens))
        finally:
            scratch.drop_database(env)

    print("Memory of the command in a child process (peak RSS, VmHWM):")
    for secret_count, measured in memory:
        grown = measured["peak_kib"] - measured["after_setup_kib"]
        print(
            f"  {secret_count:>7,} secrets: peak {mib(measured['peak_kib'])} "
            f"(after django.setup() {mib(measured['after_setup_kib'])}, +{mib(grown)} during the command)"
        )
    first, last = memory[0][1], memory[-1][1]
    memory_ratio = last["peak_kib"] / first["peak_kib"]
    growth = [measured["peak_kib"] - measured["after_setup_kib"] for _count, measured in memory]
    # Flat: what the command itself adds may not follow the row count (4x the rows); 2 MiB of allowance for noise.
    growth_flat = growth[-1] <= 1.5 * growth[0] + 2048
    print(f"rotate_encryption_keys output: {' '.join(output.getvalue().split())}")
    print(f"every token decrypts with the new key alone: {good:,} of {len(tokens):,}, {bad} fail")
    secrets_count = len(tokens)
    bare_rate, command_rate = secrets_count / bare_seconds, secrets_count / command_seconds
    print(
        f"bare MultiFernet.rotate loop on {secrets_count:,} tokens in memory (baseline): "
        f"{bare_seconds:.2f} s, {bare_rate:,.0f} secrets/s"
    )
    print(
        f"manage.py rotate_encryption_keys on {secrets_count:,} secrets ({secrets_count // SECRETS_PER_VM:,} VMs): "
        f"{command_seconds:.2f} s, {command_rate:,.0f} secrets/s"
    )
    print(
        f"memory the command adds, {MEMORY_STEPS[-1]:,} vs {MEMORY_STEPS[0]:,} secrets: +{mib(growth[-1])} vs "
        f"+{mib(growth[0])}; peak RSS ratio {memory_ratio:.2f} (flat is 1.0) {scratch.goal(growth_flat)}"
    )
    ratio = command_rate / bare_rate
    met = ratio >= GOAL_RATIO and bad == 0
    print(f"rotation throughput ratio command/bare: {ratio:.3f} (goal >= {GOAL_RATIO}) {scratch.goal(met)}")


if __name__ == "__main__":
    if sys.argv[1:] == [CHILD_FLAG]:
        child()
    else:
        main()
