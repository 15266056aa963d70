"""The dashboard ("/") with 1,000 VMs and 5,000 bookmarks: .venv/bin/python bench/dashboard.py

The measured user is a manager, so every section shows: VMs they own (some assigned to a regular user), VMs
assigned to them, their 5,000 bookmarks, their assigned VMs and other users' shared VMs. Every VM has an
encrypted password. First the number of SQL statements the page runs is counted at N (500 VMs, 2,500
bookmarks) and at 2N: it must not grow with the data. Then, at 2N, the median time of a whole GET "/" through
django.test.Client (every middleware, the session read from the database, the template rendered) is set
against its baseline: re-running exactly the SQL statements that request ran, in the same order, on a raw
cursor, fetching every row. The ratio says how much the page costs beyond its queries; the goal is 2x at most.

To show where the time beyond the SQL goes, the view's two halves are also timed alone (median of the same
number of runs, through a RequestFactory request): building the sections with their counts and rows (ORM and
its queries), and rendering the template from sections already loaded. What remains of the full request is the
middleware stack, the session and user lookups and the test client.
"""

import secrets
import tempfile
from pathlib import Path

import scratch

RUNS = 50
WARMUP = 5
VMS_PER_STEP = 500
BOOKMARKS_PER_STEP = 2_500
SIDEKICKS = 5
GOAL_RATIO = 2.0


def make_users():
    from access.roles import Role
    from accounts.models import User

    def user(username, role):
        person = User(username=username, email=f"{username}@bench.example", role=role)
        person.set_unusable_password()  # force_login needs none, and hashing is not what is measured here
        person.save()
        return person

    manager = user("bench-manager", Role.MANAGER)
    regular = user("bench-regular", Role.REGULAR)
    sidekicks = [user(f"bench-sidekick{number}", Role.SIDEKICK) for number in range(SIDEKICKS)]
    return manager, regular, sidekicks


def add_data(manager, regular, sidekicks, step: int) -> None:
    """VMS_PER_STEP VMs (each with an encrypted password) and BOOKMARKS_PER_STEP of the manager's bookmarks.

    Of every 10 VMs: 5 are the manager's (every third of them assigned to the regular user), 1 is a
    sidekick's assigned to the manager, 3 are sidekicks' shared VMs and 1 a sidekick's private VM.
    """
    from bookmarks.models import Bookmark
    from bookmarks.tests.factories import BookmarkFactory
    from machines.models import VirtualMachine
    from machines.tests.factories import VirtualMachineFactory

    vms = []
    for number in range(step * VMS_PER_STEP, (step + 1) * VMS_PER_STEP):
        kind = number % 10
        sidekick = sidekicks[number % SIDEKICKS]
        if kind < 5:
            fields = {"owner": manager, "assigned_to": regular if number % 3 == 0 else None, "shared": kind < 2}
        elif kind == 5:
            fields = {"owner": sidekick, "assigned_to": manager, "shared": False}
        else:
            fields = {"owner": sidekick, "shared": kind < 9}
        vms.append(VirtualMachineFactory.build(password=secrets.token_urlsafe(16), **fields))
    VirtualMachine.objects.bulk_create(vms, batch_size=500)

    bookmarks = []
    for number in range(step * BOOKMARKS_PER_STEP, (step + 1) * BOOKMARKS_PER_STEP):
        bookmark = BookmarkFactory.build(owner=manager, tags=f"lab docs team{number % 7}", description="Bench")
        bookmark.normalize()  # what save() does; bulk_create does not call save()
        bookmarks.append(bookmark)
    Bookmark.objects.bulk_create(bookmarks, batch_size=1000)


def capture_dashboard(client) -> list[str]:
    """The SQL statements one GET "/" runs, as sent to the database."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")
    if response.status_code != 200:
        raise SystemExit(f'GET "/" answered {response.status_code}, not 200')
    return [query["sql"] for query in captured.captured_queries]


def check_sections(client) -> None:
    html = client.get("/").content.decode()
    missing = [
        key for key in ("mine", "assigned_to_me", "bookmarks", "assigned", "others") if f'id="{key}"' not in html
    ]
    if missing:
        raise SystemExit(f"the dashboard lacks the section(s) {', '.join(missing)}")


def rerun(statements: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            if cursor.description is not None:
                cursor.fetchall()


def time_both(client, statements: list[str]) -> tuple[list[float], list[float]]:
    """Alternating runs, so that drift in the machine's speed touches both sides alike."""
    for _ in range(WARMUP):
        client.get("/")
        rerun(statements)
    full, sql = [], []
    for _ in range(RUNS):
        full.append(scratch.time_call(lambda: client.get("/")))
        sql.append(scratch.time_call(lambda: rerun(statements)))
    return full, sql


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
        sql.append(scratch.time_call(lambda: rerun(statements)))
        rendering.append(scratch.time_call(render))
    return loading, sql, rendering


def statement_kinds(statements: list[str]) -> str:
    kinds = {}
    for sql in statements:
        kind = sql.split(None, 1)[0].upper()
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vmlab-bench-") as workdir:
        env = scratch.bench_environment(Path(workdir), database="vmlab_bench_dashboard")
        try:
            scratch.setup_django()
            from django.db import connection

            manager, regular, sidekicks = make_users()
            client = scratch.logged_in_client(manager)
            add_data(manager, regular, sidekicks, step=0)
            check_sections(client)
            at_n = capture_dashboard(client)
            add_data(manager, regular, sidekicks, step=1)
            at_2n = capture_dashboard(client)
            full, sql = time_both(client, at_2n)
            loading, loading_sql, rendering = time_view_halves(manager)
            vendor = connection.vendor
        finally:
            scratch.drop_database(env)

    n_label = f"{VMS_PER_STEP} VMs / {BOOKMARKS_PER_STEP} bookmarks"
    two_n_label = f"{2 * VMS_PER_STEP} VMs / {2 * BOOKMARKS_PER_STEP} bookmarks"
    print(f"Dashboard of a manager who sees every section, {vendor}, median of {RUNS} warm runs:")
    print(f"  queries at N  ({n_label}): {len(at_n)}")
    print(f"  queries at 2N ({two_n_label}): {len(at_2n)} ({statement_kinds(at_2n)})")
    same = len(at_n) == len(at_2n)
    print(f"  query count N vs 2N: {'equal' if same else 'DIFFERENT'} ({scratch.goal(same)})")
    print(f"  the same {len(at_2n)} SQL statements on a raw cursor (baseline): {scratch.median_ms(sql):.2f} ms")
    print(f'  GET "/" through django.test.Client: {scratch.median_ms(full):.2f} ms')
    orm = scratch.median_ms(loading) - scratch.median_ms(loading_sql)
    rest = scratch.median_ms(full) - scratch.median_ms(sql) - orm - scratch.median_ms(rendering)
    print(
        f"  where the time beyond the SQL goes: ORM around the section queries {orm:.2f} ms "
        f"(sections with their queries {scratch.median_ms(loading):.2f} ms minus those queries "
        f"{scratch.median_ms(loading_sql):.2f} ms), template rendering {scratch.median_ms(rendering):.2f} ms, "
        f"middleware, session, user and test client {rest:.2f} ms"
    )
    ratio = scratch.median_ms(full) / scratch.median_ms(sql)
    print(
        f"dashboard {scratch.median_ms(full):.2f} ms vs its SQL {scratch.median_ms(sql):.2f} ms: "
        f"ratio {ratio:.2f}x (goal <= {GOAL_RATIO:.0f}x) {scratch.goal(ratio <= GOAL_RATIO)}"
    )


if __name__ == "__main__":
    main()
