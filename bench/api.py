"""The API's VM list with 1,000 VMs, against the dashboard that lists the same VMs: .venv/bin/python bench/api.py

The measured user is a manager who sees every VM of the data set (bench/lab_data.py's, as bench/dashboard.py reads
it: their own, assigned to them, other users' shared ones), and sends `Authorization: Bearer <token>` (a write-scope
personal access token). First the SQL statements of GET /api/v1/vms/ are counted at N (500 VMs) and at 2N: they
must not grow with the data. Then, at 2N, the median time of a whole GET /api/v1/vms/ (its first page: 50 VMs, with
the count), of the same with ?limit=500, and of the dashboard (GET "/", five sections of 10 rows with their counts),
each through django.test.Client, every middleware included. The ratio is the API's first page to the dashboard.
"""

import tempfile
from pathlib import Path

import lab_data
import scratch

RUNS = 50
WARMUP = 5


def capture(client, url, **headers) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}, not 200")
    return [query["sql"] for query in captured.captured_queries]


def median_of(call) -> float:
    for _ in range(WARMUP):
        call()
    return scratch.median_ms([scratch.time_call(call) for _ in range(RUNS)])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vmlab-bench-") as workdir:
        env = scratch.bench_environment(Path(workdir), database="vmlab_bench_api")
        try:
            scratch.setup_django()
            from django.conf import settings
            from django.db import connection
            from django.test import Client

            from accounts.tokens import token_create

            settings.API_RATE_LIMIT = 100_000  # the benchmark's own requests must not be throttled
            lab = lab_data.Lab()
            manager = lab.manager
            _token, plaintext = token_create(user=manager, name="bench", scope="write")
            auth = {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}
            api = Client(SERVER_NAME=scratch.HOST)
            browser = scratch.logged_in_client(manager)
            lab.add_step(0, users=False, events=False)
            api.get("/api/v1/vms/", **auth)  # the token's first use writes its "last used" and an audit row
            at_n = capture(api, "/api/v1/vms/", **auth)
            lab.add_step(1, users=False, events=False)
            at_2n = capture(api, "/api/v1/vms/", **auth)
            count = api.get("/api/v1/vms/", **auth).json()["count"]
            first_page = median_of(lambda: api.get("/api/v1/vms/", **auth))
            big_page = median_of(lambda: api.get("/api/v1/vms/", {"limit": 500}, **auth))
            page = median_of(lambda: browser.get("/"))
            vendor = connection.vendor
        finally:
            scratch.drop_database(env)

    print(f"API VM list of a manager who sees {count} VMs, {vendor}, median of {RUNS} warm runs:")
    print(f"  queries at N  (500 VMs): {len(at_n)}")
    print(f"  queries at 2N (1000 VMs): {len(at_2n)}")
    same = len(at_n) == len(at_2n)
    print(f"  query count N vs 2N: {'equal' if same else 'DIFFERENT'} ({scratch.goal(same)})")
    print(f"  GET /api/v1/vms/?limit=500: {big_page:.2f} ms")
    print(f'  GET "/" (the dashboard: five sections of 10 VMs or bookmarks, with counts): {page:.2f} ms')
    print(
        f"api /api/v1/vms/ (50 of {count} VMs) {first_page:.2f} ms vs dashboard {page:.2f} ms: "
        f"ratio {first_page / page:.2f}x"
    )


if __name__ == "__main__":
    main()
