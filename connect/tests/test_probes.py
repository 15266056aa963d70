"""Live VM status: probes against real servers on loopback (an asyncssh server, one with another host key than the
stored one, a closed port, a listener that never answers, a server that is not SSH), their results stored, and the
pages that show them without ever probing."""

import socket
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from connect import probes, services, tasks
from connect.models import Reachability
from connect.probes import ProbeTarget
from connect.ssh import fingerprint, public_key_line
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

State = Reachability.State


def probe(port, host_key="", timeout=2.0):
    return async_to_sync(probes.probe)(ProbeTarget(1, "127.0.0.1", port, host_key), timeout=timeout)


class CountingListener:
    """A loopback listener that accepts and never answers, counting the connections open at once."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.open = self.most = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.open += 1
                self.most = max(self.most, self.open)
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn):
        with conn:
            while conn.recv(1024):  # until the client gives up
                pass
        with self._lock:
            self.open -= 1

    def close(self):
        self.sock.close()


@pytest.fixture
def counting_listener():
    listener = CountingListener()
    yield listener
    listener.close()


# One probe, each state


def test_a_server_presenting_the_stored_key_is_up(ssh_server):
    result = probe(ssh_server.port, ssh_server.host_key_line)

    assert result.state == State.UP
    assert result.server_version.startswith("SSH-2.0-AsyncSSH")
    assert result.offered_fingerprint == ssh_server.host_key_fingerprint
    assert 0 < result.latency_ms < 1000
    assert result.detail == ""


def test_a_server_presenting_another_key_is_up_but_flagged(ssh_server, other_host_key):
    result = probe(ssh_server.port, public_key_line(other_host_key))

    assert result.state == State.HOST_KEY_DIFFERS
    assert ssh_server.host_key_fingerprint in result.detail
    assert fingerprint(other_host_key) in result.detail


def test_a_vm_whose_key_nobody_confirmed_is_up_and_says_so(ssh_server):
    result = probe(ssh_server.port)

    assert result.state == State.UP
    assert "not confirmed yet" in result.detail


def test_a_closed_port_is_port_closed(closed_port):
    result = probe(closed_port)

    assert result.state == State.PORT_CLOSED
    assert result.detail == f"127.0.0.1 refused the connection on port {closed_port}."


def test_a_listener_that_never_answers_is_unreachable_after_the_timeout(silent_server):
    started = time.monotonic()

    result = probe(silent_server.port, timeout=0.5)

    assert 0.5 <= time.monotonic() - started < 5  # the timeout, and some slack on a busy machine
    assert result.state == State.UNREACHABLE
    assert result.detail == "No answer within 0.5 s, waiting for the SSH banner."
    assert result.latency_ms is not None  # the TCP connection itself was accepted


def test_a_server_that_is_not_ssh_is_unreachable(non_ssh_server):
    result = probe(non_ssh_server.port)

    assert result.state == State.UNREACHABLE
    assert (
        result.detail
        == f"Port {non_ssh_server.port} answers, but not with SSH: its first words were “HTTP/1.1 400 Bad Request”"
    )


# Many at once


def test_probing_many_keeps_to_the_concurrency(counting_listener):
    """Seven probes of a listener that never answers, three at a time: three rounds of the timeout. Four or more at
    a time would take two rounds."""
    targets = [ProbeTarget(n, "127.0.0.1", counting_listener.port) for n in range(1, 8)]
    stored = []

    async def batches():
        yield targets[:4]
        yield targets[4:]

    async def store(results):
        stored.extend(results)

    started = time.monotonic()
    probed = async_to_sync(probes.probe_all)(batches(), store, concurrency=3, timeout=0.4)

    assert probed == 7
    assert sorted(result.vm_id for result in stored) == list(range(1, 8))
    assert {result.state for result in stored} == {State.UNREACHABLE}
    assert time.monotonic() - started >= 3 * 0.4
    assert counting_listener.most >= 3  # they did overlap


def test_results_are_stored_a_slice_at_a_time(monkeypatch, closed_port):
    monkeypatch.setattr(probes, "STORE_EVERY", 2)
    sizes = []

    async def batches():
        yield [ProbeTarget(n, "127.0.0.1", closed_port) for n in range(5)]

    async def store(results):
        sizes.append(len(results))

    async_to_sync(probes.probe_all)(batches(), store, concurrency=1, timeout=1)

    assert sum(sizes) == 5
    assert max(sizes) <= 2


# The periodic job: every VM, stored


@pytest.fixture
def vms_on_loopback(ssh_server, other_host_key, closed_port, silent_server):
    owner = UserFactory(role=Role.MANAGER)

    def vm(name, port, host_key=""):
        return VirtualMachineFactory(owner=owner, name=name, host="127.0.0.1", port=port, host_key=host_key)

    return {
        "up": vm("up", ssh_server.port, ssh_server.host_key_line),
        "differs": vm("differs", ssh_server.port, public_key_line(other_host_key)),
        "closed": vm("closed", closed_port),
        "silent": vm("silent", silent_server.port),
    }


def test_the_periodic_job_stores_one_result_per_vm(vms_on_loopback, settings):
    settings.REACHABILITY_TIMEOUT = 0.5

    assert tasks.probe_all_vms() == 4
    tasks.probe_all_vms()  # a second run replaces the rows

    states = dict(Reachability.objects.values_list("vm__name", "state"))
    assert states == {
        "up": State.UP,
        "differs": State.HOST_KEY_DIFFERS,
        "closed": State.PORT_CLOSED,
        "silent": State.UNREACHABLE,
    }
    assert Reachability.objects.count() == 4


def test_a_vm_deleted_while_it_was_probed_is_left_out(vms_on_loopback):
    vm = vms_on_loopback["closed"]
    target = ProbeTarget(vm.pk, vm.host, vm.port)
    result = async_to_sync(probes.probe)(target, timeout=1)
    vm.delete()

    services.vm_reachability_store([result])

    assert not Reachability.objects.exists()


# Pages: they read stored results, and never probe


def test_the_dashboard_shows_each_state_in_words_with_a_symbol(client, vms_on_loopback, settings):
    settings.REACHABILITY_TIMEOUT = 0.5
    tasks.probe_all_vms()
    VirtualMachineFactory(owner=vms_on_loopback["up"].owner, name="fresh")
    client.force_login(vms_on_loopback["up"].owner)

    page = client.get(reverse("dashboard")).text

    for words, symbol in [
        ("up", "✓"),
        ("SSH answering but host key differs", "⚠"),
        ("port closed", "⊘"),
        ("unreachable", "✕"),
        ("not checked yet", "…"),
    ]:
        assert f'<span class="status-icon" aria-hidden="true">{symbol}</span> {words}</span>' in page
    assert "&nbsp;ms" in page  # the latency of the last check


def test_no_page_connects_to_a_vm(client, counting_listener):
    owner = UserFactory(role=Role.MANAGER)
    vm = VirtualMachineFactory(owner=owner, host="127.0.0.1", port=counting_listener.port)
    client.force_login(owner)

    for url in (reverse("dashboard"), vm.get_absolute_url(), reverse("connect:status", args=[vm.pk])):
        assert client.get(url).status_code == 200

    time.sleep(0.1)
    assert counting_listener.most == 0


def test_the_dashboard_runs_as_many_queries_at_n_and_2n_vms_with_statuses(client, ssh_server, settings):
    owner = UserFactory(role=Role.MANAGER)
    client.force_login(owner)
    settings.REACHABILITY_TIMEOUT = 1

    def add(count):
        for _ in range(count):
            VirtualMachineFactory(owner=owner, host="127.0.0.1", port=ssh_server.port, shared=True)
        tasks.probe_all_vms()

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("dashboard")).status_code == 200
        return len(captured)

    add(5)
    at_n = queries()
    add(5)

    assert queries() == at_n
    assert Reachability.objects.filter(state=State.UP).count() == 10


# "Check now"


def test_check_now_queues_a_probe_and_the_page_says_so_until_it_reports(
    client, vms_on_loopback, django_capture_on_commit_callbacks
):
    vm = vms_on_loopback["up"]
    client.force_login(vm.owner)
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(reverse("connect:check_status", args=[vm.pk]), follow=True)

    assert "A check of “up” is queued" in response.text
    assert "A check is queued" in response.text
    status = client.get(reverse("connect:status", args=[vm.pk]))
    assert status["X-Status-Queued"] == "true"

    for callback in queued:  # the worker takes the task (here at once, in this process)
        callback()

    status = client.get(reverse("connect:status", args=[vm.pk]))
    assert status["X-Status-Queued"] == "false"
    assert '<span class="status-icon" aria-hidden="true">✓</span> up</span>' in status.text
    assert Reachability.objects.get(vm=vm).state == State.UP


def test_check_now_is_limited_like_connections(client, vms_on_loopback, settings, django_capture_on_commit_callbacks):
    settings.SSH_CONNECT_RATE_LIMIT = 1
    vm = vms_on_loopback["closed"]
    client.force_login(vm.owner)

    with django_capture_on_commit_callbacks() as queued:
        client.post(reverse("connect:check_status", args=[vm.pk]))
        response = client.post(reverse("connect:check_status", args=[vm.pk]), follow=True)

    assert "Too many connections to VMs (at most 1 a minute)" in response.text
    assert len(queued) == 1


def test_check_now_only_takes_a_post(client, vms_on_loopback):
    vm = vms_on_loopback["up"]
    client.force_login(vm.owner)

    assert client.get(reverse("connect:check_status", args=[vm.pk])).status_code == 405
    assert not Reachability.objects.exists()


def test_a_probe_queued_for_a_deleted_vm_does_nothing(vms_on_loopback):
    vm = vms_on_loopback["up"]
    pk = vm.pk
    vm.delete()

    assert tasks.probe_vm(pk) == ""
    assert not Reachability.objects.exists()


def test_a_detail_is_stored_as_its_msgid_and_values_and_shown_in_the_readers_language():
    from connect.probes import Detail, detail_text, stored_detail

    detail = Detail("No answer within %(seconds)g s, waiting for %(what)s.", seconds=0.5, what=Detail("the SSH banner"))
    stored = stored_detail(detail, 300)
    assert "the SSH banner" in stored and stored != str(detail)  # a msgid and its values, not the sentence
    assert detail_text(stored) == "No answer within 0.5 s, waiting for the SSH banner."
    long = Detail("%(host)s port %(port)s cannot be reached: %(reason)s.", host="h" * 253, port=22, reason="x" * 100)
    assert len(stored_detail(long, 300)) <= 300
    assert "…" in detail_text(stored_detail(long, 300))  # the longest values cut short to fit
    assert detail_text("Stored before details were msgids.") == "Stored before details were msgids."


@pytest.mark.parametrize("limit", [40, 120, 300])
def test_a_detail_full_of_quotes_is_cut_to_fit_and_keeps_what_fits(limit):
    from connect.probes import Detail, detail_text, stored_detail

    banner = Detail("%(host)s answered %(banner)s", host="127.0.0.1", banner='"\\' * 200)

    stored = stored_detail(banner, limit)

    assert len(stored) <= limit
    shown = detail_text(stored)
    assert shown.startswith("127.0.0.1 answered") or len(shown) <= limit
    if limit == 300:
        assert shown.count('"') > 50  # cut by its encoded length, not emptied
