"""Is a VM up? A probe without credentials: TCP connect, the SSH banner, and the host key the server presents,
compared with the one stored on the VM. Nothing is logged in to and nothing is sent but the key exchange.

One probe ends in one of four states (connect.models.Reachability.State), within `timeout` seconds for the whole:
up, SSH answering but host key differs, port closed, or unreachable (no route, no answer in time, or not SSH).
probe_all runs many at once, at most `concurrency` in flight, holding in memory only those and the results not
yet stored, however many VMs there are. Pure asyncio: no database here (connect.tasks reads and stores).
"""

import asyncio
import datetime
import gc
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncssh
from django.utils.translation import gettext, gettext_noop

from connect.models import Reachability
from connect.ssh import _host_key_algorithms, fingerprint, open_tcp, public_key_line

logger = logging.getLogger(__name__)

State = Reachability.State
STORE_EVERY = 500  # results written at once
BANNER_BYTES = 1024


class Detail(str):
    """A probe's detail: reads as its text in the active language (the probe worker's), and is stored by
    stored_detail as its msgid and values, so that each page shows it in its reader's language (detail_text).
    Values may be Details themselves (a phrase inside the sentence)."""

    def __new__(cls, msgid: str, **values):
        detail = super().__new__(cls, gettext(msgid) % values if values else gettext(msgid))
        detail.msgid, detail.values = msgid, values
        return detail


def _plain(value):
    if isinstance(value, Detail):
        return {"m": value.msgid, "v": {name: _plain(inner) for name, inner in value.values.items()}}
    if isinstance(value, int | float):
        return value
    return str(value)


def _string_leaves(data):
    for name, value in data["v"].items():
        if isinstance(value, dict):
            yield from _string_leaves(value)
        elif isinstance(value, str):
            yield data["v"], name, value


def stored_detail(detail: str, limit: int) -> str:
    """What the database keeps of a detail, at most `limit` characters: a Detail as JSON (its msgid and values, the
    longest values cut short if need be), translated when shown (detail_text); any other text as it is."""
    if not isinstance(detail, Detail):
        return str(detail)[:limit]
    data = _plain(detail)
    while len(text := _json(data)) > limit:
        leaves = list(_string_leaves(data))
        if not leaves:
            return str(detail)[:limit]
        values, name, value = max(leaves, key=lambda leaf: len(_json(leaf[2])))
        # Cut by the value's encoded length (a quote or a control byte takes up to 6 characters in JSON).
        excess = len(text) - limit + 1
        shorter = value[:-1]
        while shorter and len(_json(shorter)) > len(_json(value)) - excess:
            shorter = shorter[:-1]
        if not shorter:  # nothing left to cut from the longest value: the English text, cut
            return str(detail)[:limit]
        values[name] = shorter + "…"
    return text


def _json(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _render(data, translate) -> str:
    if not isinstance(data, dict):
        return data
    values = {name: _render(value, translate) for name, value in data.get("v", {}).items()}
    return translate(data["m"]) % values if values else translate(data["m"])


def detail_text(stored: str) -> str:
    """A stored detail (stored_detail) in the active language; text stored before details were kept as msgids, as
    it is."""
    if not stored.startswith("{"):
        return stored
    try:
        data = json.loads(stored)
        try:
            return _render(data, gettext)
        except (KeyError, TypeError, ValueError):  # a translation that does not fit its values: the English
            return _render(data, str)
    except (ValueError, KeyError, TypeError, AttributeError):
        return stored


@dataclass(frozen=True)
class ProbeTarget:
    vm_id: int
    host: str
    port: int
    host_key: str = ""  # the stored key ("type base64"); empty until a user confirmed one


@dataclass(frozen=True)
class ProbeResult:
    vm_id: int
    state: str
    checked_at: datetime.datetime
    latency_ms: float | None = None  # how long the TCP connection took to open
    detail: str = ""
    server_version: str = ""
    offered_fingerprint: str = ""


async def probe(target: ProbeTarget, *, timeout: float) -> ProbeResult:
    loop = asyncio.get_running_loop()
    where = {"host": target.host, "port": target.port}
    waiting_for = Detail(gettext_noop("the host name to resolve"))
    latency = None
    sock = None

    def result(state, detail="", **found):
        return ProbeResult(target.vm_id, state, _now(), latency, detail, **found)

    try:
        async with asyncio.timeout(timeout):
            addresses = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
            waiting_for = Detail(gettext_noop("a TCP connection"))
            started = loop.time()
            sock = await open_tcp(addresses)
            latency = round((loop.time() - started) * 1000, 3)
            waiting_for = Detail(gettext_noop("the SSH banner"))
            version = await _banner(sock)
            waiting_for = Detail(gettext_noop("the SSH host key"))
            key = await _host_key(sock, target)
    except TimeoutError:
        return result(
            State.UNREACHABLE,
            Detail(
                gettext_noop("No answer within %(seconds)g s, waiting for %(what)s."), seconds=timeout, what=waiting_for
            ),
        )
    except socket.gaierror:
        return result(
            State.UNREACHABLE, Detail(gettext_noop("The host name “%(host)s” does not resolve."), host=target.host)
        )
    except ConnectionRefusedError:
        return result(
            State.PORT_CLOSED, Detail(gettext_noop("%(host)s refused the connection on port %(port)s."), **where)
        )
    except OSError as error:  # no route to host, network unreachable, …
        reason = error.strerror or str(error) or error.__class__.__name__
        return result(
            State.UNREACHABLE,
            Detail(gettext_noop("%(host)s port %(port)s cannot be reached: %(reason)s."), **where, reason=reason),
        )
    except NotSSH as error:
        return result(
            State.UNREACHABLE,
            Detail(
                gettext_noop("Port %(port)s answers, but not with SSH: %(reason)s"),
                port=target.port,
                reason=error.args[0],
            ),
        )
    except (asyncssh.Error, asyncio.IncompleteReadError, EOFError) as error:
        reason = getattr(error, "reason", "") or str(error) or error.__class__.__name__
        return result(
            State.UNREACHABLE,
            Detail(
                gettext_noop("Port %(port)s answers, but not with SSH: %(reason)s"), port=target.port, reason=reason
            ),
        )
    except Exception as error:
        logger.exception("Probing VM %s at %s port %s failed", target.vm_id, target.host, target.port)
        return result(
            State.UNREACHABLE, Detail(gettext_noop("The probe failed: %(error)s"), error=error.__class__.__name__)
        )
    finally:
        if sock is not None:
            sock.close()  # at once, however the probe ended (asyncssh has closed it already after a key exchange)
    found = {"server_version": version, "offered_fingerprint": fingerprint(key)}
    if not target.host_key:
        detail = Detail(gettext_noop("Its host key is not confirmed yet: the first connection asks for it."))
        return result(State.UP, detail, **found)
    if public_key_line(key) != target.host_key:
        stored = fingerprint(asyncssh.import_public_key(target.host_key))
        detail = Detail(
            gettext_noop("The server presents the host key %(offered)s, not the stored %(stored)s."),
            offered=found["offered_fingerprint"],
            stored=stored,
        )
        return result(State.HOST_KEY_DIFFERS, detail, **found)
    return result(State.UP, **found)


class NotSSH(Exception):
    """What the server said first is no SSH banner."""


async def _banner(sock: socket.socket) -> str:
    """The server's version line ("SSH-2.0-OpenSSH_9.2p1 …"), which an SSH server sends first: read without taking
    it off the socket (MSG_PEEK), so that the key exchange then starts as if nothing had been read."""
    loop = asyncio.get_running_loop()
    arrived = loop.create_future()
    loop.add_reader(sock.fileno(), lambda: arrived.done() or arrived.set_result(None))
    try:
        await arrived
    finally:
        loop.remove_reader(sock.fileno())
    try:
        greeting = sock.recv(BANNER_BYTES, socket.MSG_PEEK)
    except BlockingIOError:
        greeting = b""
    if not greeting:
        raise NotSSH(Detail(gettext_noop("it closed the connection at once")))
    lines = greeting.decode("ascii", "replace").splitlines()
    # RFC 4253 allows other lines before the version; a version line not yet complete is still one.
    version = next((line for line in lines if line.startswith("SSH-")), "")
    if not version:
        raise NotSSH(Detail(gettext_noop("its first words were “%(words)s”"), words=lines[0][:60] if lines else ""))
    return version.strip()


async def _host_key(sock: socket.socket, target: ProbeTarget) -> asyncssh.SSHKey:
    """The key the server presents in the key exchange (of the stored key's type first, as OpenSSH asks for it);
    nothing is logged in to."""
    trusted = asyncssh.import_public_key(target.host_key) if target.host_key else None
    key = await asyncssh.get_server_host_key(sock=sock, server_host_key_algs=_host_key_algorithms(trusted), config=None)
    if key is None:
        raise asyncssh.ProtocolError(asyncssh.DISC_PROTOCOL_ERROR, "no host key presented")
    return key


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def probe_all(
    batches: AsyncIterator[list[ProbeTarget]],
    store: Callable[[list[ProbeResult]], Awaitable[None]],
    *,
    concurrency: int,
    timeout: float,
) -> int:
    """Probe every target the batches give, at most `concurrency` at a time (asyncio.Semaphore); results are
    handed to `store` STORE_EVERY at a time, so memory holds one batch, the probes in flight and one store's
    worth of results. Returns how many were probed."""
    slots = asyncio.Semaphore(concurrency)
    results: list[ProbeResult] = []
    running: set[asyncio.Task] = set()
    probed = 0

    async def run(target: ProbeTarget) -> None:
        try:
            results.append(await probe(target, timeout=timeout))
        finally:
            slots.release()

    async def flush(at_least: int) -> None:
        if len(results) >= at_least:
            done = results[:]
            results.clear()
            await store(done)
            # A finished SSH connection is freed only by the cyclic garbage collector (asyncssh's objects refer to
            # each other), on its own schedule: collected here, once per slice, memory stays flat.
            gc.collect()

    async for batch in batches:
        for target in batch:
            await slots.acquire()
            task = asyncio.create_task(run(target))
            running.add(task)
            task.add_done_callback(running.discard)
            probed += 1
            await flush(STORE_EVERY)
    await asyncio.gather(*running)
    await flush(1)
    return probed
