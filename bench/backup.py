"""manage.py backup + restore on 10,000 VMs vs a bare pg_dump + pg_restore: .venv/bin/python bench/backup.py

10,000 VMs, each with a password and an SSH key (20,000 secrets, inserted as Fernet tokens as in rotate_keys.py),
in a throwaway PostgreSQL database. Each round times, as an operator runs them, in separate processes (the
empty databases restored into are created beforehand, untimed):

- bare: `pg_dump --format=custom` of the database into a file, then `pg_restore` of it into an empty database;
- VM Lab: `manage.py backup` (counts in the dump's snapshot, the tar with its manifest, the SHA-256), then
  `manage.py restore FILE` into an empty database (SHA-256 check, `pg_restore --list`, the load in one
  transaction, row counts against the backup's, every secret decrypted in a dry pass, an audit row).

The median of ROUNDS rounds of each is compared. To show where the difference goes, each round also times
`manage.py check` (a VM Lab process starting and stopping: a backup and a restore are two of them) and
`manage.py check_secrets` (that start-up plus the dry pass over the 20,000 secrets). Afterwards the restored
database is compared with the source: rows per table and every stored token.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import scratch
from rotate_keys import insert_vms, ssh_private_key

VMS = 10_000
ROUNDS = 5
GOAL_RATIO = 3.0


def run(command: list[str], env: dict) -> tuple[float, str]:
    """Seconds `command` takes, and what it printed; stops the benchmark if it fails."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=scratch.ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return seconds, result.stdout


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


def table_contents(url: str) -> tuple[dict, list]:
    """({table: rows}, [(id, password token, ssh_key token), ...]) of the database at `url`."""
    import psycopg2

    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        counts = {}
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 (names from pg_tables)
            counts[table] = cursor.fetchone()[0]
        cursor.execute("SELECT id, password, ssh_key FROM machines_virtualmachine ORDER BY id")
        tokens = cursor.fetchall()
    connection.close()
    return counts, tokens


def mib(path: Path) -> str:
    return f"{path.stat().st_size / 1024 / 1024:.1f} MiB"


def main() -> None:
    if shutil.which("pg_dump") is None:
        raise SystemExit("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    # Other work on the machine slows the bare tools and VM Lab's Python differently: say how busy it was.
    print(f"load average over the last minute: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="vmlab-bench-") as workdir:
        env = scratch.bench_environment(Path(workdir), database="vmlab_bench_backup")
        if not env["DATABASE_URL"].startswith("postgres"):
            raise SystemExit("bench/backup.py compares with pg_dump and pg_restore: it needs PostgreSQL")
        env["BACKUP_DIR"] = str(Path(workdir, "backups"))
        targets = []
        try:
            scratch.setup_django()
            from django.db import connections

            from access.roles import Role
            from accounts.models import User

            owner = User(username="bench-owner", email="bench-owner@bench.example", role=Role.SIDEKICK)
            owner.set_unusable_password()
            owner.save()
            start = time.perf_counter()
            insert_vms(owner, 0, VMS, env["FIELD_ENCRYPTION_KEYS"], ssh_private_key())
            print(f"setup: {VMS:,} VMs with a password and an SSH key inserted in {time.perf_counter() - start:.1f} s")
            connections.close_all()
            source = table_contents(env["DATABASE_URL"])

            bare, vmlab, starts, checks, restore_output = [], [], [], [], ""
            for round_number in range(1, ROUNDS + 1):
                dump = Path(workdir, f"bare-{round_number}.dump")
                bare_target = scratch.empty_database("vmlab_bench_backup_bare")
                vmlab_target = scratch.empty_database("vmlab_bench_backup_restored")
                targets = [bare_target, vmlab_target]
                dumped, _ = run(["pg_dump", "--format=custom", f"--file={dump}", env["DATABASE_URL"]], env)
                loaded, _ = run(["pg_restore", f"--dbname={bare_target}", str(dump)], env)
                backed_up, output = run(manage("backup"), env)
                backup = Path(output.split("Backup written: ", 1)[1].split(" (", 1)[0])
                restored, restore_output = run(manage("restore", str(backup)), {**env, "DATABASE_URL": vmlab_target})
                bare.append((dumped, loaded))
                vmlab.append((backed_up, restored))
                starts.append(run(manage("check"), env)[0])
                checks.append(run(manage("check_secrets"), env)[0])
                print(
                    f"round {round_number}: pg_dump {dumped:.2f} s + pg_restore {loaded:.2f} s = "
                    f"{dumped + loaded:.2f} s; manage.py backup {backed_up:.2f} s + restore {restored:.2f} s = "
                    f"{backed_up + restored:.2f} s"
                )
            restored_contents = table_contents(vmlab_target)
            sizes = f"bare dump {mib(dump)}, VM Lab backup {mib(backup)}"
        finally:
            scratch.drop_database(env)
            for url in targets:
                scratch.drop_database({"DATABASE_URL": url})

    source_counts, source_tokens = source
    counts, tokens = restored_contents
    # The restore adds its own audit row; the source has its backups' rows: compare every other table.
    same_rows = {t: n for t, n in counts.items() if t != "audit_auditevent"} == {
        t: n for t, n in source_counts.items() if t != "audit_auditevent"
    }
    secrets = sum(value is not None for row in source_tokens for value in row[1:])
    print(f"sizes: {sizes}")
    print(f"restore said: {restore_output.strip().splitlines()[-1]}")
    print(
        f"restored database vs source: rows per table {'equal' if same_rows else 'DIFFERENT'} "
        f"({sum(source_counts.values()):,} rows in {len(source_counts)} tables), "
        f"{secrets:,} secrets' tokens {'identical' if tokens == source_tokens else 'DIFFERENT'}"
    )
    bare_total = statistics.median(dumped + loaded for dumped, loaded in bare)
    vmlab_total = statistics.median(backed_up + restored for backed_up, restored in vmlab)
    starting, checking = statistics.median(starts), statistics.median(checks)
    print(
        f"where VM Lab's time goes: two process start-ups ~{2 * starting:.2f} s (manage.py check: {starting:.2f} s), "
        f"the dry pass over {secrets:,} secrets ~{checking - starting:.2f} s (check_secrets: {checking:.2f} s); "
        f"without the start-ups {vmlab_total - 2 * starting:.2f} s, {(vmlab_total - 2 * starting) / bare_total:.2f}x"
    )
    ratio = vmlab_total / bare_total
    met = ratio <= GOAL_RATIO and same_rows and tokens == source_tokens
    print(
        f"backup + restore of {VMS:,} VMs: {vmlab_total:.2f} s vs bare pg_dump + pg_restore {bare_total:.2f} s "
        f"(median of {ROUNDS}): ratio {ratio:.2f}x (goal <= {GOAL_RATIO:g}x) {scratch.goal(met)}"
    )


if __name__ == "__main__":
    main()
