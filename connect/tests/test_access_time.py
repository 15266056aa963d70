"""When access ends during a connection: an open terminal is closed within ACCESS_CHECK_INTERVAL with a message, and
a download in progress stops (connect.transfer_guard). Ends are real: an assignment or an account ending a moment
from now, by the database's clock, or one made under time-machine in the past."""

import datetime
import time
from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import AsyncClient
from django.urls import reverse
from django.utils import timezone

from access.roles import Role
from accounts.tests.factories import UserFactory
from connect import terminal_access, transfer_guard
from connect.tests.browser import Browser, socket_path
from connect.tests.sshserver import PASSWORD
from machines import services
from machines.tests.expiry import assign_ended, assign_ending_soon, wait_past

CHECK_EVERY = 0.2
# How soon after the end a session must be closed: the check interval, and slack for a busy test machine (the
# default interval, ACCESS_CHECK_INTERVAL, is a minute).
CLOSED_WITHIN = CHECK_EVERY + 4


@pytest.fixture
def manager(db):
    return UserFactory(role=Role.MANAGER)


@pytest.fixture
def student(db):
    return UserFactory(role=Role.REGULAR, username="ada")


@pytest.fixture
def vm(vm_on_server, manager):
    return vm_on_server(owner=manager, password=PASSWORD)


@pytest.fixture
def quick_checks(monkeypatch):
    monkeypatch.setattr(terminal_access, "ACCESS_CHECK_INTERVAL", CHECK_EVERY)
    monkeypatch.setattr(transfer_guard, "ACCESS_CHECK_INTERVAL", 0)


@pytest.fixture
def terminal_of(client):
    tabs = []

    async def open_as(vm, user) -> Browser:
        await sync_to_async(client.force_login)(user)
        tab = Browser(socket_path(vm), client.cookies[settings.SESSION_COOKIE_NAME].value)
        tabs.append(tab)
        return tab

    yield open_as
    for tab in tabs:
        tab.socket.stop(exceptions=False)


def live(test):
    """An async test on the real ASGI stack, with committed data and quick access checks."""
    marks = (
        pytest.mark.asyncio,
        pytest.mark.django_db(transaction=True),
        pytest.mark.usefixtures("thread_db_connections_closed", "quick_checks"),
    )
    for mark in marks:
        test = mark(test)
    return test


@live
async def test_an_open_terminal_closes_when_the_assignment_ends(terminal_of, vm, manager, student):
    until = await sync_to_async(assign_ending_soon)(vm, actor=manager, assignee=student, seconds=4)
    tab = await terminal_of(vm, student)
    assert await tab.open()
    await tab.output_shows("$ ")

    closed = await tab.control("closed")

    assert closed["message"] == "Your access to this VM has ended."
    assert time.time() - until.timestamp() < CLOSED_WITHIN
    assert await tab.closed() == 1000


@live
async def test_an_open_terminal_closes_when_the_account_expires(terminal_of, vm, manager, student):
    await sync_to_async(services.vm_assign)(vm=vm, actor=manager, assignee=student)
    ends = timezone.now() + datetime.timedelta(seconds=4)
    await sync_to_async(get_user_model().objects.filter(pk=student.pk).update)(access_expires_at=ends)
    tab = await terminal_of(vm, student)
    assert await tab.open()
    await tab.output_shows("$ ")

    closed = await tab.control("closed")

    assert closed["message"] == "Your access to VM Lab has ended: your account expired."
    assert time.time() - ends.timestamp() < CLOSED_WITHIN


@live
async def test_no_terminal_opens_on_an_assignment_that_ended(terminal_of, vm, manager, student):
    await sync_to_async(assign_ended)(vm, actor=manager, assignee=student)
    tab = await terminal_of(vm, student)

    assert not await tab.open()


# Downloads


@pytest.fixture
def big_file(ssh_server):
    name = f"results-{time.monotonic_ns()}.bin"
    (ssh_server.root / name).write_bytes(b"x" * (256 * 1024))
    yield f"/{name}"
    (ssh_server.root / name).unlink()


def download_url(vm, path):
    return f"{reverse('connect:file_download', args=[vm.pk])}?path={quote(path)}"


@pytest.mark.django_db
def test_a_download_in_progress_stops_when_the_assignment_ends(client, vm, manager, student, big_file, quick_checks):
    until = assign_ending_soon(vm, actor=manager, assignee=student, seconds=3)
    client.force_login(student)
    response = client.get(download_url(vm, big_file))
    assert response.status_code == 200
    chunks = iter(response.streaming_content)
    received = len(next(chunks))

    wait_past(until)
    received += sum(len(chunk) for chunk in chunks)

    assert received < 256 * 1024  # the rest was never sent
    response.close()


@pytest.mark.django_db
def test_a_download_within_the_assignment_arrives_whole(client, vm, manager, student, big_file, quick_checks):
    services.vm_assign(vm=vm, actor=manager, assignee=student, until=timezone.now() + datetime.timedelta(days=1))
    client.force_login(student)

    response = client.get(download_url(vm, big_file))

    assert b"".join(response.streaming_content) == b"x" * (256 * 1024)


@live
async def test_a_download_under_asgi_stops_once_the_account_expires(vm, manager, student, big_file):
    await sync_to_async(services.vm_assign)(vm=vm, actor=manager, assignee=student)
    client = AsyncClient()
    await sync_to_async(client.force_login)(student)
    response = await client.get(download_url(vm, big_file))
    assert response.status_code == 200
    chunks = aiter(response.streaming_content)
    received = len(await anext(chunks))

    ended = timezone.now() - datetime.timedelta(seconds=1)
    await sync_to_async(get_user_model().objects.filter(pk=student.pk).update)(access_expires_at=ended)
    async for chunk in chunks:
        received += len(chunk)

    assert received < 256 * 1024
