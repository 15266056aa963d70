"""Echo round trip through the browser terminal, on loopback: `make bench` (or .venv/bin/python bench/terminal_echo.py).

A real stack: the production server (gunicorn, one uvicorn worker) on 127.0.0.1, a logged-in session cookie, the
terminal WebSocket, and the tests' asyncssh server (connect/tests/sshserver.py, whose shell echoes each byte as a
terminal in cooked mode does). One keystroke at a time is sent and timed until its echo comes back, KEYSTROKES
times. The baseline is the same echo over a direct asyncssh session to the same server, without the portal.
"""

import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

import scratch

KEYSTROKES = 200
ROOT = Path(__file__).resolve().parent.parent


def configure(workdir: Path) -> dict:
    """A throwaway database, static files and keys, shared by this process and the server it starts."""
    from cryptography.fernet import Fernet

    env = {
        "DJANGO_SETTINGS_MODULE": "vmlab.settings",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "LOG_LEVEL": "WARNING",
        "STATIC_ROOT": str(workdir / "static"),
        "WEB_CONCURRENCY": "1",
    }
    os.environ.update(env)
    return {**os.environ, **env}


def prepare(ssh_server) -> tuple[int, str]:
    """A sidekick with a VM on the SSH server (host key trusted); returns the VM id and a session cookie."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.test import Client

    from access.roles import Role
    from accounts.tests.factories import UserFactory
    from connect.tests.sshserver import PASSWORD, PASSWORD_USER
    from machines.tests.factories import VirtualMachineFactory

    user = UserFactory(username="bench", role=Role.SIDEKICK)
    vm = VirtualMachineFactory(
        owner=user,
        host=ssh_server.host,
        port=ssh_server.port,
        username=PASSWORD_USER,
        password=PASSWORD,
        host_key=ssh_server.host_key_line,
        host_key_fingerprint=ssh_server.host_key_fingerprint,
    )
    client = Client()
    client.force_login(user, backend="accounts.backends.LoginBackend")
    return vm.pk, client.cookies["sessionid"].value


def start_server(env: dict, port: int) -> subprocess.Popen:
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(  # noqa: S603
        [str(gunicorn), "--config", "deploy/gunicorn.conf.py", "vmlab.asgi:application"],
        cwd=ROOT,
        env={**env, "BIND": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"The server did not start: {process.stderr.read().decode()[-2000:]}")


async def read_until(receive, expected: bytes) -> None:
    seen = b""
    while expected not in seen:
        seen += await receive()


async def time_keystrokes(send, receive) -> list[float]:
    """Milliseconds from sending each key to receiving its echo."""
    timings = []
    for number in range(KEYSTROKES):
        key = bytes([ord("a") + number % 26])
        start = time.perf_counter()
        await send(key)
        await read_until(receive, key)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


async def through_the_portal(port: int, vm_id: int, cookie: str) -> list[float]:
    import websockets

    url = f"ws://127.0.0.1:{port}/ws/machines/{vm_id}/terminal/?cols=80&rows=24"
    headers = {"Cookie": f"sessionid={cookie}", "Origin": f"http://127.0.0.1:{port}"}
    async with websockets.connect(url, additional_headers=headers) as socket:

        async def receive() -> bytes:
            while True:
                message = await socket.recv()
                if isinstance(message, bytes):
                    return message
                control = json.loads(message)
                if control["type"] in ("error", "closed"):
                    raise SystemExit(f"terminal closed: {control['message']}")

        await read_until(receive, b"$ ")
        timings = await time_keystrokes(socket.send, receive)
        await socket.send(b"\rexit\r")
    return timings


async def direct(ssh_server) -> list[float]:
    import asyncssh

    from connect.tests.sshserver import PASSWORD, PASSWORD_USER

    async with asyncssh.connect(
        ssh_server.host,
        ssh_server.port,
        username=PASSWORD_USER,
        password=PASSWORD,
        known_hosts=([asyncssh.import_public_key(ssh_server.host_key_line)], [], []),
        client_keys=None,
        agent_path=None,
        config=None,
    ) as connection:
        process = await connection.create_process(term_type="xterm", term_size=(80, 24), encoding=None)
        await read_until(lambda: process.stdout.read(4096), b"$ ")

        async def send(data: bytes) -> None:
            process.stdin.write(data)

        timings = await time_keystrokes(send, lambda: process.stdout.read(4096))
        process.stdin.write(b"\rexit\r")
    return timings


def describe(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (
        f"{name}: median {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms, "
        f"min {ordered[0]:.2f} ms, max {ordered[-1]:.2f} ms"
    )


def main() -> None:
    sys.path.insert(0, str(ROOT))
    import asyncssh

    with tempfile.TemporaryDirectory(prefix="vmlab-bench-") as workdir:
        env = configure(Path(workdir))
        from connect.tests.sshserver import SSHTestServer

        ssh_server = SSHTestServer(
            host_key=asyncssh.generate_private_key("ssh-ed25519"),
            client_key=asyncssh.generate_private_key("ssh-ed25519"),
        ).start()
        vm_id, cookie = prepare(ssh_server)
        port = scratch.free_port()
        server = start_server(env, port)
        try:
            portal = asyncio.run(through_the_portal(port, vm_id, cookie))
            baseline = asyncio.run(direct(ssh_server))
        finally:
            server.terminate()
            server.wait(timeout=30)
            ssh_server.stop()
    print(f"Terminal echo round trip, {KEYSTROKES} keystrokes one at a time, loopback:")
    print("  " + describe("direct asyncssh session (baseline)", baseline))
    print("  " + describe("browser WebSocket -> gunicorn/uvicorn -> portal -> SSH", portal))
    ratio = statistics.median(portal) / statistics.median(baseline)
    print(f"terminal echo median {statistics.median(portal):.2f} ms; ratio to direct SSH: {ratio:.1f}x")


if __name__ == "__main__":
    main()
