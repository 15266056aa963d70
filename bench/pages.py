"""The portal's big list pages against their own SQL: .venv/bin/python bench/pages.py

The lab of bench/lab_data.py (at 2N: 1,000 VMs, 5,000 bookmarks with tags, 1,000 users, 5,000 audit events). For
each page, as the person who uses it (the dashboard, the bookmark list and the user list as a manager, the audit
trail as an admin): the SQL statements it runs at N and at 2N, which must be as many; then at 2N the medians of
warm runs through django.test.Client, alternating: the floor (the same client's logged-in 404: every middleware,
the session and user lookups and a template, but no view), the page, and the page's own SQL (the statements it
runs beyond the floor's, re-run in order on a raw cursor, fetching every row). The ratio (page - floor) / SQL is
what the page costs beyond the framework, per unit of its own queries; the goal is 2x at most for each page.
"""

import tempfile
from pathlib import Path

import lab_data
import scratch

RUNS = 40
WARMUP = 5
GOAL_RATIO = 2.0
# (label, who asks for it, URL name)
PAGES = [
    ("dashboard", "manager", "dashboard"),
    ("bookmark list", "manager", "bookmarks:list"),
    ("user list", "manager", "people:user_list"),
    ("audit trail", "admin", "audit:event_list"),
]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vmlab-bench-") as workdir:
        env = scratch.bench_environment(Path(workdir), database="vmlab_bench_pages")
        try:
            scratch.setup_django()
            from django.db import connection
            from django.urls import reverse

            lab = lab_data.Lab()
            clients = {"manager": scratch.logged_in_client(lab.manager), "admin": scratch.logged_in_client(lab.admin)}
            paths = {label: reverse(name) for label, _who, name in PAGES}
            lab.add_step(0)
            at_n = {label: scratch.captured_statements(clients[who], paths[label]) for label, who, _name in PAGES}
            lab.add_step(1)
            results = []
            for label, who, _name in PAGES:
                at_2n = scratch.captured_statements(clients[who], paths[label])
                times = scratch.time_page(clients[who], paths[label], runs=RUNS, warmup=WARMUP)
                results.append((label, who, len(at_n[label]), at_2n, times))
            vendor = connection.vendor
        finally:
            scratch.drop_database(env)

    print(
        f"List pages at 2N ({2 * lab_data.VMS_PER_STEP} VMs, {2 * lab_data.BOOKMARKS_PER_STEP} bookmarks, "
        f"{2 * lab_data.USERS_PER_STEP} users, {2 * lab_data.EVENTS_PER_STEP} audit events), {vendor}, "
        f"median of {RUNS} warm runs:"
    )
    ratios = []
    for label, who, queries_n, at_2n, times in results:
        same = queries_n == len(at_2n)
        ratios.append((label, times.ratio))
        print(
            f"  {label} ({paths[label]}, as {who}): queries at N {queries_n}, at 2N {len(at_2n)} "
            f"({scratch.statement_kinds(at_2n)}) {'equal' if same else 'DIFFERENT'}; floor {times.floor:.2f} ms, "
            f"page {times.page:.2f} ms, own SQL ({len(times.statements)} statements) {times.sql:.2f} ms; "
            f"(page - floor) / SQL {times.ratio:.2f}x {scratch.goal(same and times.ratio <= GOAL_RATIO)}"
        )
    worst = max(ratio for _label, ratio in ratios)
    counts_same = all(queries_n == len(at_2n) for _l, _w, queries_n, at_2n, _t in results)
    print(
        "(page - floor) / SQL: "
        + ", ".join(f"{label} {ratio:.2f}x" for label, ratio in ratios)
        + f"; worst {worst:.2f}x (goal <= {GOAL_RATIO:.0f}x each, query counts equal at N and 2N) "
        + scratch.goal(counts_same and worst <= GOAL_RATIO)
    )


if __name__ == "__main__":
    main()
