"""The production server of `make serve-prod` and the Docker image, run for real: gunicorn with deploy/gunicorn.conf.py
and uvicorn workers, DEBUG=False, static files collected and served by whitenoise.

It runs on its own SQLite file, not on the test database: the server is another process.
"""

import asyncio
import http.client
import json
import re
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import websockets
from cryptography.fernet import Fernet
from django.conf import settings

GUNICORN = Path(sys.executable).with_name("gunicorn")
PASSWORD = "production-test-7"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(tmp_path, port, **extra):
    return {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "vmlab.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        # Whatever the developer's .env says: these decide what the tests below expect.
        "CACHE_URL": "locmemcache://",
        "TRUSTED_PROXY_COUNT": "0",
        "SECURE_PROXY_SSL": "false",
        **extra,
    }


def manage(env, *args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env, check=True)


def gunicorn(env, **options):
    command = [str(GUNICORN), "--config", "deploy/gunicorn.conf.py", "vmlab.asgi:application"]
    return subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, **options)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("production")
    port = free_port()
    env = server_environment(tmp_path, port)
    manage(env, "migrate", "--no-input", "--verbosity", "0")
    manage(env, "collectstatic", "--no-input", "--verbosity", "0")
    # A VM whose SSH port nothing listens on: the terminal then reports a refused connection.
    closed_port = free_port()
    manage(
        env,
        "shell",
        "-c",
        "from accounts.models import User; from machines.models import VirtualMachine; "
        f"u = User(username='ada', role='sidekick'); u.set_password('{PASSWORD}'); u.save(); "
        f"VirtualMachine.objects.create(owner=u, name='box', host='127.0.0.1', port={closed_port}, username='ada')",
    )
    log = tmp_path / "server.log"
    with log.open("w") as output:
        process = gunicorn(env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_listening(process, port, log)
        yield {"port": port, "database": tmp_path / "production.sqlite3", "log": log}
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_listening(process, port, log):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn stopped with status {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer within 30 s:\n{log.read_text()[-3000:]}")


def get(port, path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    return response, response.read()


def log_in(port, username, password, headers=None):
    """The login form, as a browser fills it in: returns the cookies the server set."""
    page, body = get(port, "/accounts/login/")
    csrf_cookie = re.search(r"csrftoken=([^;]+)", page.getheader("Set-Cookie")).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    form = {"csrfmiddlewaretoken": token, "username": username, "password": password}
    connection.request(
        "POST",
        "/accounts/login/",
        body=urlencode(form),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie}",
            **(headers or {}),
        },
    )
    response = connection.getresponse()
    response.read()
    cookies = dict(re.findall(r"(sessionid|csrftoken)=([^;]+)", ", ".join(response.headers.get_all("Set-Cookie", []))))
    return response, {"csrftoken": csrf_cookie, **cookies}


def test_pages_are_served_with_debug_off_and_the_security_headers(server):
    response, body = get(server["port"], "/accounts/login/")

    assert response.status == 200
    assert b"Log in" in body
    assert "script-src 'self'" in response.getheader("Content-Security-Policy")
    assert response.getheader("X-Frame-Options") == "DENY"
    assert response.getheader("Server") is None  # nothing advertises the software


def test_static_files_are_served_by_whitenoise_under_hashed_names_cached_for_a_year(server):
    _, page = get(server["port"], "/accounts/login/")
    stylesheet = re.search(rb'href="(/static/css/vmlab\.[0-9a-f]{12}\.css)"', page).group(1).decode()

    response, body = get(server["port"], stylesheet, headers={"Accept-Encoding": "gzip"})

    assert response.status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    assert "immutable" in response.getheader("Cache-Control")
    assert int(response.getheader("Content-Length")) == len(body)


def test_a_missing_page_gets_the_friendly_404_not_a_debug_page(server):
    response, body = get(server["port"], "/no-such-page/")

    assert response.status == 404
    assert b"Page not found" in body
    assert b"Traceback" not in body


def test_the_access_log_keeps_password_reset_tokens_out(server):
    get(server["port"], "/accounts/reset/MQ/cz8kq1-0123456789abcdef0123456789abcdef/")
    get(server["port"], "/accounts/reset/MQ/set-password/")

    log = wait_for_log_line(server["log"], "/accounts/reset/MQ/set-password/")
    assert "/accounts/reset/MQ/[token]/" in log
    assert "0123456789abcdef" not in log


def test_forwarded_headers_are_not_trusted_by_the_server_itself(server):
    """Only Django reads X-Forwarded-For, and only with TRUSTED_PROXY_COUNT set: a client cannot pick its address."""
    response, _ = log_in(server["port"], "ada", "wrong password", headers={"X-Forwarded-For": "203.0.113.9"})

    assert response.status == 200  # the form again, with an error
    with sqlite3.connect(server["database"]) as database:
        rows = database.execute("SELECT ip FROM audit_auditevent WHERE action = 'auth.login_failed'")
        addresses = [ip for (ip,) in rows]
    assert addresses == ["127.0.0.1"]


def test_the_terminal_websocket_is_served_by_the_same_workers(server):
    response, cookies = log_in(server["port"], "ada", PASSWORD)
    assert response.status == 302
    url = f"ws://127.0.0.1:{server['port']}/ws/machines/1/terminal/?cols=80&rows=24"

    async def first_messages():
        async with websockets.connect(
            url,
            origin=f"http://127.0.0.1:{server['port']}",
            additional_headers={"Cookie": f"sessionid={cookies['sessionid']}"},
        ) as socket_:
            messages = []
            while not any(message.get("type") == "error" for message in messages):
                messages.append(json.loads(await asyncio.wait_for(socket_.recv(), timeout=15)))
            return messages

    messages = asyncio.run(first_messages())

    assert messages[-1]["kind"] == "refused"


def test_the_terminal_websocket_refuses_a_visitor_without_a_session(server):
    async def handshake():
        async with websockets.connect(
            f"ws://127.0.0.1:{server['port']}/ws/machines/1/terminal/", origin=f"http://127.0.0.1:{server['port']}"
        ):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        asyncio.run(handshake())
    assert refused.value.response.status_code == 403


def wait_for_log_line(log, text):
    deadline = time.monotonic() + 10
    while text not in (content := log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return content


def refusal(env):
    """What gunicorn printed when it refused to start (it must stop by itself)."""
    process = gunicorn(env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("gunicorn started instead of refusing to")
    assert process.returncode != 0
    return output


def test_several_workers_with_the_local_memory_cache_refuse_to_start(tmp_path):
    output = refusal(server_environment(tmp_path, free_port(), WEB_CONCURRENCY="2"))

    assert "2 workers with the LocMemCache would each count rate limits on their own" in output


def test_a_dummy_cache_refuses_to_start_even_with_one_worker(tmp_path):
    output = refusal(server_environment(tmp_path, free_port(), CACHE_URL="dummycache://"))

    assert "would switch every rate limit off" in output
