"""Where one page's time goes: `make profile URL=/bookmarks/ [AS=bench-admin]` (README, "Benchmarks").

On a throwaway PostgreSQL database (SQLite if none answers) filled with the lab of bench/lab_data.py at 2N (1,000
VMs, 5,000 bookmarks, 1,000 users, 5,000 audit events), logged in as AS (default bench-manager, who sees every
dashboard section; bench-admin for the audit trail), GET URL a few times to warm up, then:

1. without a profiler, the median request time, the SQL time inside it (every statement's execute, summed) and the
   floor (the same client's logged-in 404), so the figures below can be read against real time;
2. under cProfile, the request's time split by where it is spent: SQL (the driver's execute), ORM (Python in
   django.db), templates (django.template, template tags and filters), the rest of Django (handlers, middleware,
   sessions, auth), and the project's own code. A function outside those (a builtin, django.utils, the standard
   library) counts for whoever called it. Profiling slows Python down, not the database: the shares are estimates,
   the unprofiled times are real;
3. the functions that took the most time of their own, and the most time with what they called.
"""

import argparse
import cProfile
import gc
import pstats
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import lab_data
import scratch

WARMUP = 5
RUNS = 20
TOP = 25
# The category of a function, by the file it is in: first match wins.
CATEGORIES = [
    ("ORM", ("/django/db/",)),
    ("templates", ("/django/template/", "/templatetags/", "/django/utils/html.py", "/django/utils/text.py")),
    ("Django", ("/django/", "/asgiref/", "/axes/", "/whitenoise/")),
    ("project", tuple(f"/{app}/" for app in ("access", "accounts", "audit", "bookmarks", "machines", "people"))),
    ("project", ("/dashboard/", "/connect/", "/vmlab/")),
]
SQL_CALLS = ("method 'execute' of", "method 'executemany' of")
ORDER = ["SQL", "ORM", "templates", "Django", "project", "other"]


def arguments():
    parser = argparse.ArgumentParser(description="Where one page's time goes: SQL, ORM, templates, the rest.")
    parser.add_argument("url", nargs="?", default="/", help="the page, e.g. / or /bookmarks/?q=docs")
    parser.add_argument("--as", dest="username", default="bench-manager", help="the lab user who asks for it")
    return parser.parse_args()


def own_category(function) -> str | None:
    filename, _line, name = function
    if filename == "~":
        return "SQL" if name.startswith(f"<{SQL_CALLS[0]}") or name.startswith(f"<{SQL_CALLS[1]}") else None
    for category, markers in CATEGORIES:
        if any(marker in filename for marker in markers):
            return category
    return None


def split_by_category(stats: pstats.Stats) -> Counter:
    """Seconds of own time per category; a function of no category counts for its callers, by their share."""
    raw = stats.stats
    resolved = {}

    def category_shares(function, depth=0) -> dict[str, float]:
        if function in resolved:
            return resolved[function]
        category = own_category(function)
        if category is not None:
            shares = {category: 1.0}
        else:
            callers = raw.get(function, (0, 0, 0, 0, {}))[4]
            total = sum(caller_stats[2] for caller_stats in callers.values())
            if depth > 20 or not callers or total <= 0:
                shares = {"other": 1.0}
            else:
                shares = Counter()
                resolved[function] = {"other": 1.0}  # a cycle through this function ends here
                for caller, caller_stats in callers.items():
                    for name, share in category_shares(caller, depth + 1).items():
                        shares[name] += share * caller_stats[2] / total
        resolved[function] = dict(shares)
        return resolved[function]

    seconds = Counter()
    for function, (_cc, _nc, own_time, _cumulative, _callers) in raw.items():
        for category, share in category_shares(function).items():
            seconds[category] += own_time * share
    return seconds


def where(function) -> str:
    filename, line, name = function
    if filename == "~":
        return name
    for marker in ("/site-packages/", str(scratch.ROOT) + "/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
    return f"{filename}:{line}({name})"


def print_top(stats: pstats.Stats, key: int, title: str, runs: int) -> None:
    print(title)
    entries = sorted(stats.stats.items(), key=lambda item: item[1][key], reverse=True)[:TOP]
    for function, (_cc, calls, own_time, cumulative, _callers) in entries:
        print(
            f"  {own_time / runs * 1000:8.3f} ms own {cumulative / runs * 1000:8.3f} ms with callees "
            f"{calls / runs:8.0f} calls  {where(function)}"
        )


class GarbageCollections:
    """Seconds the cyclic garbage collector ran, and how often, while counting: the profiler charges its pauses to
    whichever function happened to allocate at the time."""

    def __init__(self):
        self.seconds, self.runs, self._started, self.counting = 0.0, 0, 0.0, False

    def __call__(self, phase, _info):
        if phase == "start":
            self._started = time.perf_counter()
        elif self.counting:
            self.seconds += time.perf_counter() - self._started
            self.runs += 1

    def __enter__(self):
        gc.callbacks.append(self)
        self.counting = True
        return self

    def __exit__(self, *_exc):
        self.counting = False
        gc.callbacks.remove(self)


def timed_requests(client, url: str, runs: int) -> tuple[list[float], list[float], list[float]]:
    """(request, SQL inside it, floor) seconds for `runs` requests each, alternating."""
    from django.db import connection

    sql_seconds = []

    def timing_sql(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_seconds[-1] += time.perf_counter() - start

    requests, sql, floor = [], [], []
    with connection.execute_wrapper(timing_sql):
        for _ in range(runs):
            sql_seconds.append(0.0)
            requests.append(scratch.time_call(lambda: client.get(url)))
            sql.append(sql_seconds[-1])
            floor.append(scratch.time_call(lambda: client.get(scratch.FLOOR_PATH)))
    return requests, sql, floor


def main() -> None:
    options = arguments()
    with tempfile.TemporaryDirectory(prefix="vmlab-profile-") as workdir:
        env = scratch.bench_environment(Path(workdir), database="vmlab_profile")
        try:
            scratch.setup_django()
            from accounts.models import User

            print("Filling the lab (1,000 VMs, 5,000 bookmarks, 1,000 users, 5,000 audit events) ...", flush=True)
            lab = lab_data.Lab()
            lab.add_step(0)
            lab.add_step(1)
            user = User.objects.filter(username=options.username).first()
            if user is None:
                raise SystemExit(
                    f"No user {options.username!r} in the lab: use bench-manager, bench-admin, bench-regular, "
                    "bench-sidekick0 ... bench-sidekick4."
                )
            report(scratch.logged_in_client(user), options.url, options.username)
        finally:
            scratch.drop_database(env)


def report(client, url: str, username: str) -> None:
    from django.db import connection

    status = client.get(url).status_code
    statements = scratch.captured_statements(client, url, status=status)
    for _ in range(WARMUP):
        client.get(url)
        client.get(scratch.FLOOR_PATH)
    with GarbageCollections() as collections:
        requests, sql, floor = timed_requests(client, url, RUNS)

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(RUNS):
        client.get(url)
    profiler.disable()
    stats = pstats.Stats(profiler)
    seconds = split_by_category(stats)
    profiled = sum(seconds.values())

    median = statistics.median
    print(f"GET {url} as {username} ({connection.vendor}): HTTP {status}, {len(statements)} SQL statements")
    print(
        f"  unprofiled, median of {RUNS}: request {median(requests) * 1000:.2f} ms, of which SQL "
        f"{median(sql) * 1000:.2f} ms; floor (logged-in 404) {median(floor) * 1000:.2f} ms"
    )
    print(
        f"  garbage collection during those {2 * RUNS} requests (page and floor): {collections.runs} runs, "
        f"{collections.seconds * 1000:.2f} ms in all"
    )
    print(f"  under cProfile, per request ({profiled / RUNS * 1000:.2f} ms, Python slowed down by the profiler):")
    for category in ORDER:
        share = seconds[category] / profiled if profiled else 0
        print(f"    {category:<10} {seconds[category] / RUNS * 1000:8.2f} ms  {share:6.1%}")
    python_share = 1 - seconds["SQL"] / profiled if profiled else 0
    real_python = (median(requests) - median(sql)) * 1000
    print(f"  estimated without the profiler: the {real_python:.2f} ms outside SQL split as above without SQL:")
    for category in ORDER[1:]:
        estimate = real_python * seconds[category] / (profiled - seconds["SQL"]) if python_share else 0
        print(f"    {category:<10} {estimate:8.2f} ms")
    print_top(stats, 2, f"Top {TOP} functions by their own time, per request:", RUNS)
    print_top(stats, 3, f"Top {TOP} functions by time with their callees, per request:", RUNS)


if __name__ == "__main__":
    main()
