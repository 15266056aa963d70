"""Probing 1,000 VMs on loopback, as the periodic job does: .venv/bin/python bench/probes.py

Four asyncssh servers, in a process of their own, stand for 750 of the VMs (each VM has its server's host key
stored, so every one of them is "up" after a full key exchange); 250 VMs point at loopback ports nothing listens on
("port closed"). Nothing leaves 127.0.0.1.

- The slowest single probe: each of the eight targets probed alone, five times; the slowest median.
- The baseline: that probe x 1,000 / REACHABILITY_CONCURRENCY, the wall time of perfect overlap.
- The job itself (connect.tasks.probe_all_vms: reads in batches, probes at most REACHABILITY_CONCURRENCY at once,
  stores the results) on 250, 500, 1,000 and 2,000 VMs: wall time, CPU time, and peak Python memory (tracemalloc,
  in a run of its own), which must stay flat: the job holds a batch, the probes in flight and one store's worth of
  results, whatever the number of VMs (from 1,000 VMs on, every run reads more than one batch).
- The dashboard of a manager who sees every VM with its status badge: its query count at N and 2N VMs.
The ratio of the job's wall time to the baseline is printed last.
"""

import multiprocessing
import os
import socket
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import scratch

SERVERS = 4
CLOSED_PORTS = 4
STEPS = (250, 500, 1000, 2000)
MEASURED = 1000  # the VMs whose probing the ratio is about
# The peak is the SSH connections in flight (about 50 KB each) and a slice of results: the same at any number of VMs
# (growing with them would be x2).
FLAT = 1.2
SAMPLES = 5


def serve(ports, ready, stop):
    """The SSH servers, in their own process: their key exchanges do not take the probing process's CPU."""
    import asyncio

    import asyncssh

    async def main():
        servers = []
        for _ in range(SERVERS):
            key = asyncssh.generate_private_key("ssh-ed25519")
            server = await asyncssh.create_server(asyncssh.SSHServer, "127.0.0.1", 0, server_host_keys=[key])
            servers.append(server)
            ports.put((server.sockets[0].getsockname()[1], key.export_public_key("openssh").decode()))
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        for server in servers:
            server.close()

    asyncio.run(main())


def closed_ports() -> list[int]:
    ports = []
    for _ in range(CLOSED_PORTS):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    return ports


def targets(servers, closed) -> list[tuple[int, str]]:
    """(port, stored host key) for VM number n: three of four on a server, one of four on a closed port."""
    keys = [(port, " ".join(key.split()[:2])) for port, key in servers]
    return [(closed[n % CLOSED_PORTS], "") if n % 4 == 3 else keys[n % SERVERS] for n in range(STEPS[-1])]


def slowest_single_probe(servers, closed) -> float:
    """Each target probed alone, SAMPLES times, in one event loop: the slowest target's median, in seconds."""
    import asyncio

    from django.conf import settings

    from connect import probes

    async def timings(port, key) -> list[float]:
        target = probes.ProbeTarget(0, "127.0.0.1", port, key)
        result = []
        for _ in range(SAMPLES):
            started = time.perf_counter()
            found = await probes.probe(target, timeout=settings.REACHABILITY_TIMEOUT)
            result.append(time.perf_counter() - started)
            assert found.state in ("up", "port_closed"), found
        return result

    async def every_target() -> float:
        every = [(port, " ".join(key.split()[:2])) for port, key in servers] + [(port, "") for port in closed]
        return max([statistics.median(await timings(port, key)) for port, key in every])

    return asyncio.run(every_target())


def add_vms(owner, plan, start: int, stop: int) -> None:
    from machines.models import VirtualMachine

    VirtualMachine.objects.bulk_create(
        VirtualMachine(
            owner=owner, name=f"probe-{n}", host="127.0.0.1", port=port, username="lab", host_key=key, shared=True
        )
        for n, (port, key) in enumerate(plan[start:stop], start=start)
    )


def run_job() -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds of this process, peak bytes, VMs probed) of the periodic job: timed in one run,
    its memory traced in another (tracemalloc slows Python down several times)."""
    from connect import tasks

    tracemalloc.start()
    tasks.probe_all_vms()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    cpu, started = time.process_time(), time.perf_counter()
    probed = tasks.probe_all_vms()
    return time.perf_counter() - started, time.process_time() - cpu, peak, probed


def dashboard_queries(client) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")
    if response.status_code != 200 or "status-up" not in response.content.decode():
        raise SystemExit("the dashboard did not show the status badges")
    return len(captured)


def main() -> None:
    context = multiprocessing.get_context("spawn")
    ports, ready, stop = context.Queue(), context.Event(), context.Event()
    server_process = context.Process(target=serve, args=(ports, ready, stop), daemon=True)
    server_process.start()
    try:
        if not ready.wait(30):
            raise SystemExit("the SSH servers did not start")
        servers = [ports.get() for _ in range(SERVERS)]
        closed = closed_ports()
        with tempfile.TemporaryDirectory(prefix="vmlab-bench-") as workdir:
            env = scratch.bench_environment(Path(workdir), database="vmlab_bench_probes")
            try:
                scratch.setup_django()
                measure(servers, closed)
            finally:
                scratch.drop_database(env)
    finally:
        stop.set()
        server_process.join(10)


def measure(servers, closed) -> None:
    from django.conf import settings
    from django.db import connection

    from access.roles import Role
    from accounts.models import User
    from connect.models import Reachability

    concurrency = settings.REACHABILITY_CONCURRENCY
    load_before = os.getloadavg()[0]
    owner = User.objects.create(username="bench-manager", email="m@bench.example", role=Role.MANAGER)
    viewer = User.objects.create(username="bench-viewer", email="v@bench.example", role=Role.ADMIN)
    client = scratch.logged_in_client(viewer)
    plan = targets(servers, closed)

    slowest = slowest_single_probe(servers, closed)
    runs, queries = {}, {}
    done = 0
    for step in STEPS:
        add_vms(owner, plan, done, step)
        done = step
        runs[step] = run_job()
        queries[step] = dashboard_queries(client)
        if step == MEASURED:
            up = Reachability.objects.filter(state="up").count()
            port_closed = Reachability.objects.filter(state="port_closed").count()

    seconds, cpu, _peak, probed = runs[MEASURED]
    ideal = slowest * probed / concurrency
    print(f"Probing VMs on loopback ({connection.vendor}): {SERVERS} asyncssh servers, {CLOSED_PORTS} closed ports")
    print(f"  REACHABILITY_CONCURRENCY {concurrency}, REACHABILITY_TIMEOUT {settings.REACHABILITY_TIMEOUT:g} s")
    print(f"  load average of the machine before and after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
    print(f"  slowest single probe (median of {SAMPLES}): {slowest * 1000:.2f} ms")
    for step in STEPS:
        wall, used, peak, count = runs[step]
        print(
            f"  job on {count:>5,} VMs: {wall:6.2f} s ({count / wall:5.0f} VMs/s), CPU {used:5.2f} s, "
            f"peak Python memory {peak / 1e6:5.2f} MB"
        )
    print(f"  after the run on {probed:,} VMs: {up} up, {port_closed} port closed")
    growth = runs[STEPS[-1]][2] / runs[MEASURED][2]
    flat = growth <= FLAT
    print(
        f"  peak memory 1,000 -> 2,000 VMs: x{growth:.2f} (x2 if it grew with the VMs; {scratch.goal(flat)}: "
        f"<= x{FLAT})"
    )
    print(
        f"  this process's CPU per probe: {cpu / probed * 1000:.2f} ms (key exchange, SSH packets, the store): at most "
        f"{probed / cpu:.0f} probes/s on one core, however many wait at once"
    )
    n, two_n = STEPS[1], STEPS[2]  # 500 and 1,000 VMs
    same = queries[n] == queries[two_n]
    print(
        f"  dashboard with status badges: {queries[n]} queries at {n} VMs, {queries[two_n]} at {two_n} "
        f"({'equal' if same else 'DIFFERENT'}, {scratch.goal(same)})"
    )
    print(
        f"probe {probed:,} VMs: {seconds:.2f} s vs slowest probe {slowest * 1000:.2f} ms x {probed:,} / {concurrency} "
        f"= {ideal:.2f} s: ratio {seconds / ideal:.2f}x"
    )


if __name__ == "__main__":
    main()
