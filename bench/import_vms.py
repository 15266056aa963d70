"""Importing 5,000 VMs with passwords, preview and apply: .venv/bin/python bench/import_vms.py (about a minute)

A CSV file of 5,000 VMs, each with a password, is imported by a manager through `machines.imports`, as the import
page does: the preview (parse, validate each row with the New VM form, match against the owner's VMs, no write),
then the apply (the same planning again in its transaction, then the writes through machines.services: one
`vms_create_many`, with each VM's audit row, and the import's own audit row). The baseline is the least any import
must do: `VirtualMachine.objects.bulk_create` of the same 5,000 rows, each password encrypted by the field.

Each timing is the median of three runs, rolled back but the last; peak memory is measured by tracemalloc in
separate runs (it slows what it watches). Queries are counted for 2,500 and 5,000 rows: the preview's must not grow
with the rows, the apply's only by its batches (one INSERT per 500 VMs and one per 500 audit rows). Last, the export
of those 5,000 VMs is previewed as an import: every row must be unchanged.
"""

import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import scratch

ROWS = 5_000
RUNS = 3
GOAL_RATIO = 10  # the apply, against bulk_create


class Rollback(Exception):
    """Ends a measured run without keeping what it wrote."""


def csv_file(count: int) -> bytes:
    lines = ["name,host,port,username,shared,password"]
    lines += [
        f"vm-{n:05d},vm{n}.lab.example,22,labuser,{'true' if n % 2 else 'false'},pw-{n}-T0p" for n in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


def baseline_vms(owner, count: int):
    from machines.models import VirtualMachine

    return [
        VirtualMachine(
            name=f"vm-{n:05d}",
            host=f"vm{n}.lab.example",
            username="labuser",
            shared=bool(n % 2),
            password=f"pw-{n}-T0p",
            owner=owner,
        )
        for n in range(count)
    ]


def timed(run, *, keep: bool = False) -> float:
    """Seconds `run()` takes inside a transaction, undone unless `keep`."""
    from django.db import transaction

    start = time.perf_counter()
    try:
        with transaction.atomic():
            run()
            elapsed = time.perf_counter() - start
            if not keep:
                raise Rollback
    except Rollback:
        pass
    return elapsed


def median_of(run, *, keep_last: bool = False) -> float:
    return statistics.median(timed(run, keep=keep_last and index == RUNS - 1) for index in range(RUNS))


def peak_mib(run) -> float:
    """Peak Python memory while `run()` runs (tracemalloc), in MiB; undone."""
    tracemalloc.start()
    try:
        timed(run)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def queries(run) -> dict:
    """{statement kind: count} of `run()`, undone."""
    from collections import Counter

    from django.db import connection

    kinds = Counter()

    def count(execute, sql, params, many, context):
        kinds[sql.lstrip().split(None, 1)[0].upper()] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        timed(run)
    return dict(kinds)


def shown(kinds: dict) -> str:
    return f"{sum(kinds.values())} ({', '.join(f'{count} {kind}' for kind, count in sorted(kinds.items()))})"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vmlab-bench-") as workdir:
        env = scratch.bench_environment(Path(workdir), database="vmlab_bench_import_vms")
        try:
            scratch.setup_django()
            from django.db import connection

            from access.roles import Role
            from accounts.models import User
            from machines.imports import vms_import_apply, vms_import_preview
            from machines.models import VirtualMachine
            from machines.vm_files.writing import render

            owner = User(username="bench-manager", email="bench-manager@bench.example", role=Role.MANAGER)
            owner.set_unusable_password()
            owner.save()
            data, half = csv_file(ROWS), csv_file(ROWS // 2)

            def preview(file=data):
                report = vms_import_preview(actor=owner, data=file, file_format="csv")
                assert report.counts["create"] == file.count(b"\n") - 1, report.counts

            def apply(file=data):
                report = vms_import_apply(actor=owner, data=file, file_format="csv")
                assert report.applied and report.counts["create"] == file.count(b"\n") - 1, report.counts

            bulk_seconds = median_of(lambda: VirtualMachine.objects.bulk_create(baseline_vms(owner, ROWS)))
            preview_seconds = median_of(preview)
            apply_seconds = median_of(apply, keep_last=True)
            stored = VirtualMachine.objects.owned_by(owner)
            with_password = stored.filter(password__isnull=False).count()
            sample = stored.get(name="vm-04321").password
            VirtualMachine.objects.all().delete()

            preview_peak, apply_peak = peak_mib(preview), peak_mib(apply)
            bulk_peak = peak_mib(lambda: VirtualMachine.objects.bulk_create(baseline_vms(owner, ROWS)))
            preview_queries = [queries(lambda file=file: preview(file)) for file in (half, data)]
            apply_queries = [queries(lambda file=file: apply(file)) for file in (half, data)]

            timed(lambda: apply(data), keep=True)
            exported = render(stored.for_list().order_by("name", "pk"), "csv").encode()
            start = time.perf_counter()
            round_trip = vms_import_preview(actor=owner, data=exported, file_format="csv")
            round_trip_seconds = time.perf_counter() - start
            vendor = connection.vendor
        finally:
            scratch.drop_database(env)

    ratio = apply_seconds / bulk_seconds
    print(f"import of {ROWS:,} VMs with passwords from a CSV file ({len(data) / 2**10:.0f} KiB), {vendor}:")
    print(f"  stored: {with_password:,} VMs with a password; vm-04321's reads back as {sample!r}")
    print(f"  bulk_create, passwords encrypted (baseline): {bulk_seconds:.2f} s, peak {bulk_peak:.1f} MiB")
    print(f"  preview: {preview_seconds:.2f} s ({preview_seconds / bulk_seconds:.1f}x), peak {preview_peak:.1f} MiB")
    print(f"  apply:   {apply_seconds:.2f} s ({ratio:.1f}x), peak {apply_peak:.1f} MiB")
    for label, counted in (("preview", preview_queries), ("apply", apply_queries)):
        print(f"  {label} queries, {ROWS // 2:,} rows: {shown(counted[0])}; {ROWS:,} rows: {shown(counted[1])}")
    counts = round_trip.counts
    print(
        f"  the export of those VMs previewed as an import: {counts['unchanged']:,} unchanged, "
        f"{counts['create'] + counts['update'] + counts['error']} otherwise, in {round_trip_seconds:.2f} s"
    )
    flat = sum(preview_queries[0].values()) == sum(preview_queries[1].values())
    met = ratio <= GOAL_RATIO and flat and counts["unchanged"] == ROWS
    print(
        f"import apply / bulk_create: {ratio:.1f}x (preview {preview_seconds / bulk_seconds:.1f}x; "
        f"goal <= {GOAL_RATIO}x, preview queries flat) {scratch.goal(met)}"
    )


if __name__ == "__main__":
    main()
