"""The terminal's WebSocket on the real ASGI stack (Origin check, session cookie) against the real test SSH server."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from connect import consumers, ssh, terminal_access, terminal_shell
from connect.services import TooManyConnections
from connect.ssh import public_key_line
from connect.terminal_slots import TerminalSlot
from connect.tests.browser import Browser, socket_path
from connect.tests.sshserver import FLOOD_AHEAD, KEY_USER, PASSWORD_USER
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("thread_db_connections_closed"),
]


@pytest.fixture
def session_of(client):
    """The session cookie of `user`, logged in with the test client as the login page would."""

    def session_of(user) -> str:
        client.force_login(user)
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    return sync_to_async(session_of)


@pytest.fixture
def open_terminal(session_of):
    """Open a terminal on a VM as a user (its owner by default); every tab is left at the end of the test."""
    browsers = []

    async def open_terminal(vm, user=None, query="", **options) -> Browser:
        browser = Browser(socket_path(vm, query), await session_of(user or vm.owner), **options)
        browsers.append(browser)
        assert await browser.open()
        return browser

    yield open_terminal
    for browser in browsers:
        browser.socket.stop(exceptions=False)


@sync_to_async
def terminal_events(vm) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=Action.VM_TERMINAL, target_id=str(vm.pk)))


@sync_to_async
def stored_host_key(vm) -> tuple[str, str]:
    return VirtualMachine.objects.values_list("host_key", "host_key_fingerprint").get(pk=vm.pk)


@sync_to_async
def trust_events(vm) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=Action.VM_HOST_KEY_TRUST, target_id=str(vm.pk)))


@pytest.fixture
def ssh_connections(monkeypatch):
    """Every SSH connection the consumer opens."""
    connections = []
    real_connect = ssh.connect

    async def recording_connect(*args, **kwargs):
        connections.append(await real_connect(*args, **kwargs))
        return connections[-1]

    monkeypatch.setattr(ssh, "connect", recording_connect)
    return connections


# Logging in


async def test_logs_in_with_the_stored_password_and_runs_a_shell(open_terminal, password_vm):
    browser = await open_terminal(password_vm)

    assert await browser.control("connected") == {"type": "connected"}
    await browser.output_shows(f"Welcome {PASSWORD_USER}")
    await browser.type("whoami\r")
    assert f"whoami\r\n{PASSWORD_USER}\r\n" in await browser.output_shows(f"\r\n{PASSWORD_USER}\r\n")
    await browser.type("term\r")
    await browser.output_shows("xterm-256color")
    await browser.leave()


async def test_logs_in_with_the_stored_key(open_terminal, key_vm):
    browser = await open_terminal(key_vm)

    await browser.output_shows(f"Welcome {KEY_USER}")
    await browser.type("whoami\r")
    await browser.output_shows(f"\r\n{KEY_USER}\r\n")
    await browser.leave()


async def test_the_assignee_may_use_the_terminal_too(open_terminal, password_vm):
    assignee = await sync_to_async(UserFactory)(role=Role.REGULAR)
    await sync_to_async(VirtualMachine.objects.filter(pk=password_vm.pk).update)(assigned_to=assignee)
    browser = await open_terminal(password_vm, assignee)

    await browser.output_shows(f"Welcome {PASSWORD_USER}")
    await browser.leave()


async def test_a_wrong_stored_password_is_an_auth_error_and_the_socket_closes(open_terminal, ssh_server, vm_owner):
    vm = await sync_to_async(VirtualMachineFactory)(
        owner=vm_owner,
        host=ssh_server.host,
        port=ssh_server.port,
        username=PASSWORD_USER,
        password="not-the-password",
        host_key=ssh_server.host_key_line,
        host_key_fingerprint=ssh_server.host_key_fingerprint,
    )
    browser = await open_terminal(vm)

    error = await browser.control("error")
    assert error["kind"] == "auth_failed"
    assert PASSWORD_USER in error["message"]
    assert await browser.closed() == 1000
    assert browser.output == b""
    assert "not-the-password" not in json.dumps(browser.controls)
    await browser.leave()
    [event] = await terminal_events(vm)
    assert event.details["outcome"] == "auth_failed"


async def test_a_vm_without_credentials_says_so(open_terminal, ssh_server, vm_owner):
    vm = await sync_to_async(VirtualMachineFactory)(
        owner=vm_owner, host=ssh_server.host, port=ssh_server.port, host_key=ssh_server.host_key_line
    )
    browser = await open_terminal(vm)

    assert (await browser.control("error"))["kind"] == "no_credentials"
    assert await browser.closed() == 1000
    await browser.leave()


async def test_a_port_where_nothing_listens_is_refused_with_a_message(
    open_terminal, closed_port, vm_owner, other_host_key
):
    vm = await sync_to_async(VirtualMachineFactory)(
        owner=vm_owner, host="127.0.0.1", port=closed_port, password="x", host_key=public_key_line(other_host_key)
    )
    browser = await open_terminal(vm)

    error = await browser.control("error")
    assert error["kind"] == "refused"
    assert str(closed_port) in error["message"]
    await browser.closed()
    await browser.leave()


# Host keys


async def test_first_use_shows_the_servers_fingerprint_and_waits(open_terminal, new_vm, ssh_server):
    browser = await open_terminal(new_vm)

    offer = await browser.control("host_key")
    assert offer["fingerprint"] == ssh_server.host_key_fingerprint
    assert offer["algorithm"] == "ssh-ed25519"
    assert ssh_server.host_key_fingerprint in offer["message"]
    assert await browser.socket.receive_nothing(timeout=0.3)
    assert browser.output == b""
    await browser.leave()
    assert await stored_host_key(new_vm) == ("", "")


async def test_a_wrong_fingerprint_is_refused_and_nothing_is_stored(open_terminal, new_vm, other_host_key):
    browser = await open_terminal(new_vm)
    await browser.control("host_key")

    await browser.send(type="trust", fingerprint=ssh.fingerprint(other_host_key))

    assert (await browser.control("error"))["kind"] == "host_key_not_confirmed"
    assert await browser.closed() == 1000
    assert browser.output == b""
    await browser.leave()
    assert await stored_host_key(new_vm) == ("", "")
    assert await trust_events(new_vm) == []


async def test_the_right_fingerprint_connects_and_is_stored_with_an_audit_row(open_terminal, new_vm, ssh_server):
    browser = await open_terminal(new_vm)
    offer = await browser.control("host_key")

    await browser.send(type="trust", fingerprint=offer["fingerprint"])

    await browser.control("connected")
    await browser.output_shows(f"Welcome {PASSWORD_USER}")
    assert await stored_host_key(new_vm) == (ssh_server.host_key_line, ssh_server.host_key_fingerprint)
    [trusted] = await trust_events(new_vm)
    assert trusted.actor_id == new_vm.owner.pk
    assert trusted.details["fingerprint"] == ssh_server.host_key_fingerprint
    assert ssh_server.auth_attempts[-1] == (PASSWORD_USER, "password")
    await browser.leave()
    [session] = await terminal_events(new_vm)
    assert session.details["host_key_fingerprint"] == ssh_server.host_key_fingerprint


async def test_a_trusted_key_stays_stored_when_the_login_then_fails(open_terminal, vm_on_server, ssh_server):
    vm = await sync_to_async(vm_on_server)(trusted=False, password="not-the-password")
    browser = await open_terminal(vm)
    offer = await browser.control("host_key")

    await browser.send(type="trust", fingerprint=offer["fingerprint"])

    assert (await browser.control("error"))["kind"] == "auth_failed"
    assert await browser.closed() == 1000
    await browser.leave()
    assert await stored_host_key(vm) == (ssh_server.host_key_line, ssh_server.host_key_fingerprint)
    assert len(await trust_events(vm)) == 1
    [session] = await terminal_events(vm)
    assert session.details["outcome"] == "auth_failed"
    assert session.details["host_key_fingerprint"] == ssh_server.host_key_fingerprint


def store_another_key(vm, other_host_key, closed_port):
    key = {"host_key": public_key_line(other_host_key), "host_key_fingerprint": ssh.fingerprint(other_host_key)}
    VirtualMachine.objects.filter(pk=vm.pk).update(**key)
    return key["host_key"], key["host_key_fingerprint"]


def move_to_another_port(vm, other_host_key, closed_port):
    VirtualMachine.objects.filter(pk=vm.pk).update(port=closed_port)
    return "", ""


@pytest.mark.parametrize("change", [store_another_key, move_to_another_port])
async def test_a_vm_changed_while_the_prompt_waits_gets_no_key_and_no_login(
    open_terminal, new_vm, ssh_server, other_host_key, closed_port, change
):
    attempts, sessions = len(ssh_server.auth_attempts), len(ssh_server.sessions)
    browser = await open_terminal(new_vm)
    offer = await browser.control("host_key")
    stored = await sync_to_async(change)(new_vm, other_host_key, closed_port)

    await browser.send(type="trust", fingerprint=offer["fingerprint"])

    assert (await browser.control("error"))["kind"] == "host_key_conflict"
    assert await browser.closed() == 1000
    await browser.leave()
    assert len(ssh_server.auth_attempts) == attempts  # no password was sent to the server
    assert len(ssh_server.sessions) == sessions
    assert await stored_host_key(new_vm) == stored
    assert await trust_events(new_vm) == []


async def test_a_changed_host_key_is_refused_with_a_warning_and_no_shell(
    open_terminal, ssh_server, vm_owner, other_host_key
):
    stored = public_key_line(other_host_key)
    vm = await sync_to_async(VirtualMachineFactory)(
        owner=vm_owner,
        host=ssh_server.host,
        port=ssh_server.port,
        username=PASSWORD_USER,
        password="alice-ssh-password",
        host_key=stored,
        host_key_fingerprint=ssh.fingerprint(other_host_key),
    )
    sessions_before = len(ssh_server.sessions)
    browser = await open_terminal(vm)

    error = await browser.control("error")
    assert error["kind"] == "host_key_changed"
    assert error["message"].startswith("WARNING")
    assert await browser.closed() == 1000
    assert browser.output == b""
    assert not any(message["type"] in ("host_key", "connected") for message in browser.controls)
    assert len(ssh_server.sessions) == sessions_before
    await browser.leave()
    assert await stored_host_key(vm) == (stored, ssh.fingerprint(other_host_key))


# Who may open a terminal


@sync_to_async
def other_sidekick():
    return UserFactory(role=Role.SIDEKICK)


async def refused(path: str, **options) -> bool:
    browser = Browser(path, **options)
    connected = await browser.open()
    await browser.leave()
    return not connected


async def test_visitors_without_a_session_are_refused(password_vm):
    assert await refused(socket_path(password_vm))


async def test_a_user_who_may_not_see_the_vm_is_refused(password_vm, session_of):
    cookie = await session_of(await other_sidekick())

    assert await refused(socket_path(password_vm), cookie=cookie)


async def test_a_forged_vm_id_is_refused(password_vm, session_of):
    cookie = await session_of(password_vm.owner)

    assert await refused(socket_path(password_vm.pk + 1000), cookie=cookie)


async def test_an_owner_whose_role_needs_a_second_factor_they_lack_is_refused(password_vm, session_of, settings):
    settings.TWO_FACTOR_REQUIRED_ROLE = Role.SIDEKICK  # the VM's owner is a sidekick
    cookie = await session_of(password_vm.owner)

    assert await refused(socket_path(password_vm), cookie=cookie)


async def test_a_foreign_origin_is_refused_even_with_the_owners_session(password_vm, session_of):
    cookie = await session_of(password_vm.owner)

    assert await refused(socket_path(password_vm), cookie=cookie, origin="https://evil.example")
    assert await refused(socket_path(password_vm), cookie=cookie, origin="")


async def test_an_origin_on_another_port_of_the_same_host_is_refused(password_vm, session_of):
    cookie = await session_of(password_vm.owner)

    assert await refused(socket_path(password_vm), cookie=cookie, origin="http://127.0.0.1:6666")


async def test_refused_sockets_leave_no_audit_row(password_vm, session_of):
    await refused(socket_path(password_vm), cookie=await session_of(await other_sidekick()))

    assert await terminal_events(password_vm) == []


# The terminal itself


async def test_the_size_comes_from_the_query_string_and_follows_resizes(open_terminal, password_vm):
    browser = await open_terminal(password_vm, query="?cols=100&rows=30")
    await browser.output_shows("$ ")

    await browser.type("size\r")
    await browser.output_shows("100x30")
    await browser.send(type="resize", cols=132, rows=43)
    await browser.type("size\r")
    await browser.output_shows("132x43")
    await browser.leave()


async def test_sizes_are_kept_within_bounds(open_terminal, password_vm):
    browser = await open_terminal(password_vm, query="?cols=99999&rows=0")
    await browser.output_shows("$ ")

    await browser.type("size\r")
    await browser.output_shows("500x2")
    await browser.send(type="resize", cols="wide", rows=-5)
    await browser.type("size\r")
    await browser.output_shows("80x2")
    await browser.leave()


async def test_infinity_and_nan_are_bad_messages_and_the_session_goes_on(open_terminal, password_vm):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    await browser.socket.send_to(text_data='{"type": "resize", "cols": Infinity, "rows": NaN}')

    assert (await browser.control("error"))["kind"] == "bad_message"
    await browser.type("size\r")
    await browser.output_shows("80x24")
    await browser.leave()


async def test_a_size_too_large_for_a_number_is_the_default(open_terminal, password_vm):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    await browser.socket.send_to(text_data='{"type": "resize", "cols": 1e999, "rows": 30}')

    await browser.type("size\r")
    await browser.output_shows("80x30")
    await browser.leave()


async def test_no_size_given_is_80_by_24(open_terminal, password_vm):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    await browser.type("size\r")

    await browser.output_shows("80x24")
    await browser.leave()


async def test_the_shell_exiting_sends_its_status_and_closes_the_socket(open_terminal, password_vm):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    await browser.type("exit 3\r")

    closed = await browser.control("closed")
    assert closed["exit_status"] == 3
    assert "3" in closed["message"]
    assert await browser.closed() == 1000
    await browser.leave()
    [event] = await terminal_events(password_vm)
    assert event.details["outcome"] == "exit 3"


async def test_a_shell_ended_by_a_signal_says_which(open_terminal, password_vm):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    await browser.type("kill\r")

    closed = await browser.control("closed")
    assert closed["message"] == "The shell was ended by signal KILL."
    assert await browser.closed() == 1000
    await browser.leave()
    [event] = await terminal_events(password_vm)
    assert event.details["outcome"] == "signal KILL"


async def test_an_oversized_frame_is_refused_and_the_session_goes_on(open_terminal, password_vm):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    await browser.type("x" * (consumers.MAX_FRAME + 1))

    assert (await browser.control("error"))["kind"] == "too_large"
    await browser.type("whoami\r")
    await browser.output_shows(f"whoami\r\n{PASSWORD_USER}\r\n")
    await browser.leave()


async def test_an_unknown_control_message_gets_an_error_and_the_session_goes_on(open_terminal, password_vm):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    await browser.socket.send_to(text_data="not json")

    assert (await browser.control("error"))["kind"] == "bad_message"
    await browser.type("whoami\r")
    await browser.output_shows(f"\r\n{PASSWORD_USER}\r\n")
    await browser.leave()


async def test_the_browser_leaving_ends_the_ssh_session_and_every_task(open_terminal, password_vm, ssh_connections):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    await browser.leave()

    assert browser.socket.future.done()
    [connection] = ssh_connections
    assert connection.is_closed()
    assert asyncio.all_tasks() == {asyncio.current_task()}
    [event] = await terminal_events(password_vm)
    assert event.details["outcome"] == "closed by the browser"


async def test_a_failing_handler_still_ends_everything_and_says_so(
    open_terminal, password_vm, ssh_connections, monkeypatch
):
    def failing_resize(self, message):
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr(consumers.TerminalConsumer, "resize", failing_resize)
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    await browser.send(type="resize", cols=100, rows=30)

    error = await browser.control("error")
    assert error["kind"] == "internal"
    assert "a bug" not in error["message"]
    assert await browser.closed() == 1000
    [connection] = ssh_connections
    assert connection.is_closed()
    await browser.leave()
    assert asyncio.all_tasks() == {asyncio.current_task()}
    [event] = await terminal_events(password_vm)
    assert event.details["outcome"] == "internal error"


async def test_no_input_for_the_idle_timeout_closes_the_terminal(open_terminal, password_vm, settings):
    settings.TERMINAL_IDLE_TIMEOUT = 0.8 / 60  # minutes
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    for _keystroke in range(3):  # typing keeps the session open past the timeout...
        await asyncio.sleep(0.4)
        await browser.type("\r")
    await browser.output_shows("$ \r\n$ \r\n$ \r\n$ ")
    assert not any(message["type"] == "closed" for message in browser.controls)

    closed = await browser.control("closed")  # ... not typing does not
    assert "without input" in closed["message"]
    assert await browser.closed() == 1000
    await browser.leave()
    [event] = await terminal_events(password_vm)
    assert event.details["outcome"] == "idle timeout"


# Flow control

FOREVER = 10**12  # bytes: a flood that does not end during a test
MIB = 1024 * 1024


def most_the_vm_may_be_ahead() -> int:
    """What the server may hold of the output, plus what the test server's flood writes ahead of the SSH window,
    plus 128 KiB of slack for a busy machine (without flow control the VM gets megabytes ahead)."""
    return terminal_shell.UNACKED_OUTPUT_LIMIT + 2 * terminal_shell.OUTPUT_WINDOW + FLOOD_AHEAD + 128 * 1024


async def settled(read, quiet: float = 0.3):
    """What `read()` returns once it stopped changing for `quiet` seconds."""
    value = read()
    while True:
        await asyncio.sleep(quiet)
        if read() == value:
            return value
        value = read()


async def show_honestly(browser, ssh_server, seconds: float, rate: int) -> int:
    """Read for `seconds` as a browser that draws `rate` bytes a second and echoes each mark once the output before
    it is drawn; returns the most the VM's flood was ahead of what the browser had received."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    ahead = 0
    while loop.time() < end:
        shown, marks = len(browser.output), len(browser.marks)
        await browser.receive()
        ahead = max(ahead, ssh_server.flooded - len(browser.output))
        await asyncio.sleep((len(browser.output) - shown) / rate)
        if len(browser.marks) > marks:
            await browser.send(type="ack", id=browser.marks[-1][0])
    return ahead


async def test_a_browser_slower_than_the_shell_gets_the_output_while_the_vm_waits_for_it(
    open_terminal, password_vm, ssh_server
):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")
    await browser.type(f"flood {FOREVER}\r")

    ahead = await show_honestly(browser, ssh_server, seconds=2, rate=4 * MIB)

    assert len(browser.output) > 2 * terminal_shell.UNACKED_OUTPUT_LIMIT  # the output kept coming...
    assert ahead < most_the_vm_may_be_ahead()  # ... no faster than the browser drew it
    await browser.leave()


async def test_a_browser_that_reads_nothing_holds_the_vm_back(open_terminal, password_vm, ssh_server):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    await browser.type(f"flood {FOREVER}\r")

    assert await settled(lambda: ssh_server.flooded) < most_the_vm_may_be_ahead()
    await browser.drain()
    assert len(browser.output) <= terminal_shell.UNACKED_OUTPUT_LIMIT + terminal_shell.OUTPUT_WINDOW
    await browser.leave()


async def test_acks_without_reading_the_output_do_not_let_it_through(open_terminal, password_vm, ssh_server):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")
    await browser.type(f"flood {FOREVER}\r")

    for _round in range(10):  # never reads the socket, so never sees a mark
        for ack in [{"bytes": 64 * 1024}, {"id": "0"}, {"id": "1"}, {"id": None}]:
            await browser.send(type="ack", **ack)
        await asyncio.sleep(0.1)

    assert await settled(lambda: ssh_server.flooded) < most_the_vm_may_be_ahead()
    await browser.leave()


async def test_acks_with_unknown_repeated_or_out_of_order_ids_do_not_open_the_window(open_terminal, password_vm):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")
    await browser.type(f"flood {FOREVER}\r")
    await browser.drain()
    first, _before = browser.marks[0]
    await browser.send(type="ack", id=first)
    await browser.drain()
    # Echoing the marks before `opening` still leaves more than the limit unshown; echoing `opening` opens the window.
    sent, marks = len(browser.output), browser.marks[1:]
    opening = next(n for n, (_mark, before) in enumerate(marks) if sent - before <= terminal_shell.UNACKED_OUTPUT_LIMIT)
    for mark, _before in marks[:opening]:
        await browser.send(type="ack", id=mark)
    assert opening < len(marks) - 1

    for ack in [{"id": first}, {"id": marks[-1][0]}, {"id": "guessed"}, {"id": 7}, {"bytes": sent}, {}]:
        await browser.send(type="ack", **ack)

    assert await browser.socket.receive_nothing(timeout=0.5)
    await browser.send(type="ack", id=marks[opening][0])
    await browser.receive()
    assert len(browser.output) > sent
    await browser.leave()


async def test_a_shell_that_exits_while_its_output_waits_still_ends_the_session(
    open_terminal, password_vm, monkeypatch
):
    monkeypatch.setattr(terminal_shell, "OUTPUT_AFTER_EXIT", 0.5)
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")
    loop = asyncio.get_running_loop()
    typed = loop.time()

    await browser.type(f"dump {4 * MIB}\rexit 7\r")  # and the browser never echoes a mark

    closed = await browser.control("closed")
    assert loop.time() - typed < 3
    assert closed["exit_status"] == 7
    assert await browser.closed() == 1000
    assert len(browser.output) < 2 * MIB  # what the browser did not take was dropped
    await browser.leave()
    [event] = await terminal_events(password_vm)
    assert event.details["outcome"] == "exit 7"


async def test_a_connection_lost_while_the_output_waits_ends_the_session_at_once(open_terminal, password_vm):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")
    loop = asyncio.get_running_loop()
    typed = loop.time()

    await browser.type(f"dump {4 * MIB}\rdrop\r")  # and the browser never echoes a mark

    closed = await browser.control("closed")
    assert loop.time() - typed < 1
    assert closed["message"].startswith("The SSH session ended unexpectedly")
    assert await browser.closed() == 1000
    await browser.leave()
    [event] = await terminal_events(password_vm)
    assert event.details["outcome"] == "connection lost"


async def test_a_channel_closed_without_exit_status_while_its_output_waits_ends_at_the_idle_timeout(
    open_terminal, password_vm, settings
):
    settings.TERMINAL_IDLE_TIMEOUT = 1.5 / 60  # minutes
    # More than the browser may leave unshown, and less than the SSH window then lets through: the VM sends it all
    # and closes the channel, while the consumer still holds the end of it.
    flood = terminal_shell.UNACKED_OUTPUT_LIMIT + 96 * 1024
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")
    loop = asyncio.get_running_loop()
    typed = loop.time()
    await browser.type(f"flood {flood}\rhangup\r")
    await asyncio.sleep(1)

    await browser.type("typed into the closed channel\r")  # is no input that keeps the session open

    closed = await browser.control("closed")
    assert loop.time() - typed < 2.2  # 1.5 s after the last input that reached the VM at the latest, not 2.5 s
    await browser.leave()
    [event] = await terminal_events(password_vm)
    # Usually the consumer still holds the end of the output, and the idle timeout ends the session. On a busy machine
    # asyncssh may already hold all of it and the close when the window shuts: it passes them on, ending it sooner.
    assert (closed["message"], event.details["outcome"]) in {
        ("Closed after 0.025 minutes without input.", "idle timeout"),
        ("The VM closed the connection.", "connection lost"),
    }
    assert event.details["bytes_in"] == len(f"flood {flood}\rhangup\r")


async def test_input_faster_than_the_vm_reads_it_ends_the_session(
    open_terminal, password_vm, ssh_connections, monkeypatch
):
    monkeypatch.setattr(terminal_shell, "INPUT_BUFFER_LIMIT", 256 * 1024)
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")
    await browser.type("deaf\r")  # the shell reads no more input
    await browser.output_shows("deaf\r\n")

    frame = "x" * consumers.MAX_FRAME
    for _frame in range(200):  # 12.5 MiB: more than the SSH window, and the server's buffers, take in
        await browser.type(frame)

    error = await browser.control("error")
    assert error["kind"] == "input_overflow"
    assert "faster than the VM reads it" in error["message"]
    assert await browser.closed() == 1000
    [connection] = ssh_connections
    assert connection.is_closed()
    await browser.leave()
    [event] = await terminal_events(password_vm)
    assert event.details["outcome"] == "input overflow"
    assert event.details["bytes_in"] < 200 * consumers.MAX_FRAME


# Limits


async def test_connections_over_the_rate_limit_are_refused(open_terminal, password_vm, ssh_server, settings):
    settings.SSH_CONNECT_RATE_LIMIT = 1
    first = await open_terminal(password_vm)
    await first.output_shows("$ ")
    await first.leave()
    sessions = len(ssh_server.sessions)

    second = await open_terminal(password_vm)

    error = await second.control("error")
    assert error == {"type": "error", "kind": "rate_limited", "message": TooManyConnections().message}
    assert await second.closed() == 1000
    assert len(ssh_server.sessions) == sessions
    await second.leave()


async def test_terminals_over_the_per_user_limit_are_refused_until_one_closes(
    open_terminal, password_vm, ssh_server, settings
):
    settings.TERMINAL_SESSIONS_PER_USER = 1
    first = await open_terminal(password_vm)
    await first.output_shows("$ ")
    sessions = len(ssh_server.sessions)

    second = await open_terminal(password_vm)

    error = await second.control("error")
    assert error["kind"] == "too_many_terminals"
    assert "1 terminals open" in error["message"]
    assert await second.closed() == 1000
    assert len(ssh_server.sessions) == sessions
    await second.leave()
    await first.leave()
    third = await open_terminal(password_vm)
    await third.output_shows("$ ")
    await third.leave()
    assert [event.details["outcome"] for event in await terminal_events(password_vm)] == [
        "closed by the browser",
        "too_many_terminals",
        "closed by the browser",
    ]


async def test_the_limit_counts_each_user_apart(open_terminal, password_vm, settings):
    settings.TERMINAL_SESSIONS_PER_USER = 1
    assignee = await sync_to_async(UserFactory)(role=Role.REGULAR)
    await sync_to_async(VirtualMachine.objects.filter(pk=password_vm.pk).update)(assigned_to=assignee)
    owners = await open_terminal(password_vm)
    await owners.output_shows("$ ")

    assignees = await open_terminal(password_vm, assignee)

    await assignees.output_shows("$ ")
    await owners.leave()
    await assignees.leave()


async def test_an_open_terminal_keeps_its_place_past_the_time_to_live(
    open_terminal, password_vm, settings, monkeypatch, quick_access_checks
):
    settings.TERMINAL_SESSIONS_PER_USER = 1
    monkeypatch.setattr(terminal_access, "SLOT_TTL", 1)
    first = await open_terminal(password_vm)
    await first.output_shows("$ ")

    await asyncio.sleep(1.5)  # refreshed at each access check

    second = await open_terminal(password_vm)
    assert (await second.control("error"))["kind"] == "too_many_terminals"
    await second.leave()
    await first.leave()


async def test_the_terminals_of_a_killed_process_stop_counting_after_a_while(open_terminal, password_vm, settings):
    settings.TERMINAL_SESSIONS_PER_USER = 1
    await sync_to_async(TerminalSlot(password_vm.owner.pk, ttl=1).acquire)()  # never released: the process died

    refused = await open_terminal(password_vm)
    assert (await refused.control("error"))["kind"] == "too_many_terminals"
    await refused.leave()
    await asyncio.sleep(1.2)

    allowed = await open_terminal(password_vm)
    await allowed.output_shows("$ ")
    await allowed.leave()


async def test_a_terminal_whose_lapsed_slot_another_terminal_took_is_closed(
    open_terminal, password_vm, settings, quick_access_checks
):
    settings.TERMINAL_SESSIONS_PER_USER = 1
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    # As if the slot had lapsed and another tab had taken it meanwhile.
    slot = f"terminal-session:{password_vm.owner.pk}:0"
    await sync_to_async(cache.set)(slot, "another terminal")

    closed = await browser.control("closed")
    assert "another terminal took it" in closed["message"]
    assert await browser.closed() == 1000
    await browser.leave()
    assert await sync_to_async(cache.get)(slot) == "another terminal"
    await sync_to_async(cache.delete)(slot)
    [event] = await terminal_events(password_vm)
    assert event.details["outcome"] == "too_many_terminals"


# Access lost during a session


@pytest.fixture
def quick_access_checks(monkeypatch):
    monkeypatch.setattr(terminal_access, "ACCESS_CHECK_INTERVAL", 0.2)


@pytest.fixture
def manager(db):
    return UserFactory(role=Role.MANAGER)


def unshare(vm, user):
    VirtualMachine.objects.filter(pk=vm.pk).update(shared=False)


def unassign(vm, user):
    VirtualMachine.objects.filter(pk=vm.pk).update(assigned_to=None)


def disable(vm, user):
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)


def delete(vm, user):
    VirtualMachine.objects.filter(pk=vm.pk).delete()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (unshare, "Your access to this VM has ended."),
        (unassign, "Your access to this VM has ended."),
        (disable, "disabled"),
        (delete, "deleted"),
    ],
)
async def test_losing_access_mid_session_closes_the_terminal(
    open_terminal, password_vm, quick_access_checks, change, reason
):
    # A regular user reaches the VM by assignment, a manager by sharing: make both true, then take one away.
    user = await sync_to_async(UserFactory)(role=Role.MANAGER if change is unshare else Role.REGULAR)
    await sync_to_async(VirtualMachine.objects.filter(pk=password_vm.pk).update)(
        shared=change is unshare, assigned_to=None if change is unshare else user
    )
    browser = await open_terminal(password_vm, user)
    await browser.output_shows("$ ")

    await sync_to_async(change)(password_vm, user)

    closed = await browser.control("closed")
    assert reason in closed["message"]
    assert await browser.closed() == 1000
    await browser.leave()
    [event] = await terminal_events(password_vm)
    assert event.details["outcome"] == "access revoked"


async def test_logging_out_closes_the_terminal(client, open_terminal, password_vm, quick_access_checks):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    assert (await sync_to_async(client.post)(reverse("accounts:logout"))).status_code == 302

    closed = await browser.control("closed")
    assert "logged out" in closed["message"]
    assert await browser.closed() == 1000
    await browser.leave()


async def test_a_session_that_keeps_its_access_stays_open(open_terminal, password_vm, quick_access_checks):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    await asyncio.sleep(0.7)  # several access checks

    await browser.type("whoami\r")
    await browser.output_shows(f"\r\n{PASSWORD_USER}\r\n")
    assert not any(message["type"] == "closed" for message in browser.controls)
    await browser.leave()


# The audit trail


async def test_the_audit_row_is_written_at_the_start_and_completed_at_the_end(open_terminal, password_vm):
    browser = await open_terminal(password_vm)
    await browser.output_shows("$ ")

    [live] = await terminal_events(password_vm)
    assert live.details["outcome"] == "open"
    assert "ended_at" not in live.details
    await browser.leave()

    [ended] = await terminal_events(password_vm)
    assert ended.pk == live.pk
    assert ended.details["started_at"] == live.details["started_at"]
    assert ended.details["outcome"] == "closed by the browser"
    assert ended.details["ended_at"] >= ended.details["started_at"]


async def test_one_audit_row_per_session_with_byte_counts_and_nothing_typed(open_terminal, password_vm, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    typed = "echo zebra-crossing-4711\r"
    browser = await open_terminal(
        password_vm,
        headers=[(b"user-agent", b"TerminalTest/1.0"), (b"x-forwarded-for", b"203.0.113.9")],
        client=["10.0.0.2", 50000],
    )
    await browser.output_shows("$ ")

    await browser.type(typed)
    await browser.output_shows("zebra-crossing-4711\r\n$ ")
    await browser.type("exit\r")
    await browser.closed()
    await browser.leave()

    [event] = await terminal_events(password_vm)
    assert event.actor_id == password_vm.owner.pk
    assert event.target_label == password_vm.name
    assert event.ip == "203.0.113.9"
    assert event.user_agent == "TerminalTest/1.0"
    details = event.details
    assert details["outcome"] == "exit 0"
    assert details["bytes_in"] == len(typed) + len("exit\r")
    assert details["bytes_out"] == len(browser.output)
    assert details["host_key_fingerprint"] == password_vm.host_key_fingerprint
    assert details["duration_seconds"] >= 0
    assert details["started_at"] <= details["ended_at"]
    row = json.dumps([details, event.actor_label, event.target_label, event.user_agent, str(event)])
    assert "zebra" not in row
    assert "alice-ssh-password" not in row


async def test_without_a_proxy_the_audit_row_has_the_peer_address(open_terminal, password_vm):
    browser = await open_terminal(password_vm, headers=[(b"x-forwarded-for", b"203.0.113.9")], client=["10.0.0.2", 1])
    await browser.output_shows("$ ")
    await browser.leave()

    [event] = await terminal_events(password_vm)
    assert event.ip == "10.0.0.2"


async def test_two_sessions_make_two_rows(open_terminal, password_vm):
    for _session in range(2):
        browser = await open_terminal(password_vm)
        await browser.output_shows("$ ")
        await browser.leave()

    assert len(await terminal_events(password_vm)) == 2


@pytest.mark.parametrize(
    ("profile", "headers"),
    [("it", ((b"accept-language", b"en"),)), ("", ((b"accept-language", b"it-IT,it;q=0.9"),))],
    ids=["profile", "accept-language"],
)
async def test_the_terminals_messages_speak_the_users_language(
    open_terminal, closed_port, vm_owner, other_host_key, profile, headers
):
    await sync_to_async(get_user_model().objects.filter(pk=vm_owner.pk).update)(language=profile)
    vm = await sync_to_async(VirtualMachineFactory)(
        owner=vm_owner, host="127.0.0.1", port=closed_port, password="x", host_key=public_key_line(other_host_key)
    )
    browser = await open_terminal(vm, headers=headers)

    status = await browser.control("status")
    assert status["message"] == f"Connessione a 127.0.0.1, porta {closed_port}…"
    await browser.closed()
    await browser.leave()
