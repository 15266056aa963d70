"""The dashboard ("/") with 1,000 VMs and 5,000 bookmarks: .venv/bin/python bench/dashboard.py

The measured user is a manager, so every section shows: VMs they own (some assigned to a regular user), VMs
assigned to them, their 5,000 bookmarks, their assigned VMs and other users' shared VMs (bench/lab_data.py). Every
VM has an encrypted password. First the number of SQL statements the page runs is counted at N (500 VMs, 2,500
bookmarks) and at 2N: it must not grow with the data. Then, at 2N, three medians of the same number of warm runs
through django.test.Client, alternating: the floor (the same logged-in client's 404: every middleware, the session
and user lookups, a template, no view), the whole GET "/", and the page's own SQL (the statements it runs beyond
the floor's, re-run in the same order on a raw cursor, fetching every row). The ratio (page - floor) / SQL says
how much the page costs beyond the framework and its own queries; the goal is 2x at most.

To show where the time beyond the SQL goes, the view's two halves are also timed alone (median of the same
number of runs, through a RequestFactory request): building the sections with their counts and rows (ORM and
its queries), and rendering the template from sections already loaded.
"""

import tempfile
from pathlib import Path

import lab_data
import scratch

RUNS = 50
WARMUP = 5
GOAL_RATIO = 2.0


def check_sections(client) -> None:
    html = client.get("/").content.decode()
    missing = [
        key for key in ("mine", "assigned_to_me", "bookmarks", "assigned", "others") if f'id="{key}"' not in html
    ]
    if missing:
        raise SystemExit(f"the dashboard lacks the section(s) {', '.join(missing)}")


def time_view_halves(manager) -> tuple[list[float], list[float], list[float]]:
    """(sections with their queries, those queries alone on a raw cursor, template render alone), in seconds."""
    from django.db import connection
    from django.template.loader import render_to_string
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from dashboard.views import dashboard_sections

    request = RequestFactory(SERVER_NAME=scratch.HOST).get("/")
    request.user = manager

    def load_sections():
        sections = dashboard_sections(request)
        for section in sections:
            list(section.page.object_list)
        return sections

    with CaptureQueriesContext(connection) as captured:
        sections = load_sections()
    statements = [query["sql"] for query in captured.captured_queries]

    def render():
        render_to_string("dashboard/dashboard.html", {"sections": sections}, request=request)

    for _ in range(WARMUP):
        load_sections()
        render()
    loading, sql, rendering = [], [], []
    for _ in range(RUNS):
        loading.append(scratch.time_call(load_sections))
        sql.append(scratch.time_call(lambda: scratch.replay(statements)))
        rendering.append(scratch.time_call(render))
    return loading, sql, rendering


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vmlab-bench-") as workdir:
        env = scratch.bench_environment(Path(workdir), database="vmlab_bench_dashboard")
        try:
            scratch.setup_django()
            from django.db import connection

            lab = lab_data.Lab()
            client = scratch.logged_in_client(lab.manager)
            lab.add_step(0, users=False, events=False)
            check_sections(client)
            at_n = scratch.captured_statements(client, "/")
            lab.add_step(1, users=False, events=False)
            at_2n = scratch.captured_statements(client, "/")
            times = scratch.time_page(client, "/", runs=RUNS, warmup=WARMUP)
            loading, loading_sql, rendering = time_view_halves(lab.manager)
            vendor = connection.vendor
        finally:
            scratch.drop_database(env)

    n_label = f"{lab_data.VMS_PER_STEP} VMs / {lab_data.BOOKMARKS_PER_STEP} bookmarks"
    two_n_label = f"{2 * lab_data.VMS_PER_STEP} VMs / {2 * lab_data.BOOKMARKS_PER_STEP} bookmarks"
    print(f"Dashboard of a manager who sees every section, {vendor}, median of {RUNS} warm runs:")
    print(f"  queries at N  ({n_label}): {len(at_n)}")
    print(f"  queries at 2N ({two_n_label}): {len(at_2n)} ({scratch.statement_kinds(at_2n)})")
    same = len(at_n) == len(at_2n)
    print(f"  query count N vs 2N: {'equal' if same else 'DIFFERENT'} ({scratch.goal(same)})")
    print(f"  floor (the same client's logged-in 404): {times.floor:.2f} ms")
    print(f"  the page's own {len(times.statements)} SQL statements on a raw cursor: {times.sql:.2f} ms")
    print(f'  GET "/" through django.test.Client: {times.page:.2f} ms')
    orm = scratch.median_ms(loading) - scratch.median_ms(loading_sql)
    print(
        f"  where the view's time goes: ORM around the section queries {orm:.2f} ms "
        f"(sections with their queries {scratch.median_ms(loading):.2f} ms minus those queries "
        f"{scratch.median_ms(loading_sql):.2f} ms), template rendering {scratch.median_ms(rendering):.2f} ms"
    )
    print(
        f"dashboard (page {times.page:.2f} ms - floor {times.floor:.2f} ms) / SQL {times.sql:.2f} ms: "
        f"ratio {times.ratio:.2f}x (goal <= {GOAL_RATIO:.0f}x) {scratch.goal(times.ratio <= GOAL_RATIO)}"
    )


if __name__ == "__main__":
    main()
