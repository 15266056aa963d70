"""static/js/terminal.js in Node, against a fake WebSocket and a fake xterm.js (connect/tests/terminal_harness.js):
what the browser sends back to the consumer, and what it shows."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js runs the terminal's JavaScript")

HARNESS = Path(__file__).with_name("terminal_harness.js")
TERMINAL_JS = Path(settings.BASE_DIR) / "static" / "js" / "terminal.js"


def run(scenario: str):
    """What `scenario` returns, run once terminal.js has opened its WebSocket."""
    completed = subprocess.run(
        ["node", str(HARNESS), str(TERMINAL_JS)], input=scenario, capture_output=True, text=True, timeout=30
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_a_mark_is_echoed_once_the_output_before_it_is_written():
    acks = run("""
        const [socket] = sockets, [term] = terminals;
        const acks = () => socket.controls().filter((message) => message.type === "ack");
        socket.receive(new ArrayBuffer(40 * 1024));
        socket.receive(JSON.stringify({ type: "mark", id: "first" }));
        socket.receive(new ArrayBuffer(30 * 1024));
        socket.receive(new ArrayBuffer(30 * 1024));
        socket.receive(JSON.stringify({ type: "mark", id: "second" }));
        const received = acks().length;
        term.finishWriting(2);  // the output before the first mark, and part of the output before the second
        const partlyWritten = acks().length;
        term.finishWriting();
        return [received, partlyWritten, acks()];
    """)

    assert acks == [0, 1, [{"type": "ack", "id": "first"}, {"type": "ack", "id": "second"}]]


def test_a_mark_after_output_already_written_is_echoed_at_once():
    acks = run("""
        const [socket] = sockets, [term] = terminals;
        socket.receive(new ArrayBuffer(64 * 1024));
        term.finishWriting();
        socket.receive(JSON.stringify({ type: "mark", id: "m1" }));
        return socket.controls();
    """)

    assert acks == [{"type": "ack", "id": "m1"}]


def test_marks_of_a_socket_left_by_reconnect_are_not_echoed():
    sent = run("""
        const [term] = terminals;
        sockets[0].receive(new ArrayBuffer(64 * 1024));
        sockets[0].receive(JSON.stringify({ type: "mark", id: "old" }));
        click("reconnect");
        term.finishWriting();
        sockets[0].receive(JSON.stringify({ type: "mark", id: "late" }));
        sockets[1].receive(new ArrayBuffer(1024));
        sockets[1].receive(JSON.stringify({ type: "mark", id: "new" }));
        term.finishWriting();
        return [sockets.length, sockets[0].controls(), sockets[1].controls()];
    """)

    assert sent == [2, [], [{"type": "ack", "id": "new"}]]


def test_connected_sends_the_size_the_terminal_has_then():
    sent = run("""
        const [socket] = sockets, [term] = terminals;
        term.cols = 132;  // the window was resized while connecting
        term.rows = 43;
        socket.receive(JSON.stringify({ type: "connected" }));
        return socket.controls();
    """)

    assert sent == [{"type": "resize", "cols": 132, "rows": 43}]


def test_links_open_only_web_pages_in_a_tab_without_opener():
    opened = run("""
        const [term] = terminals;
        for (const uri of [
            "https://example.com/docs", "http://10.0.0.5:8080/x", "javascript:alert(1)", "file:///etc/passwd",
            "data:text/html,<b>hi</b>", "vbscript:x", "not a url",
        ]) term.options.linkHandler.activate({}, uri);
        return opened;
    """)

    assert [url for url, _target, _features in opened] == ["https://example.com/docs", "http://10.0.0.5:8080/x"]
    for _url, target, features in opened:
        assert target == "_blank"
        assert "noopener" in features.split(",")


def test_a_changed_host_key_shows_where_to_go_and_other_errors_do_not():
    shown = run("""
        const [socket] = sockets;
        const panel = elements["terminal-host-key-changed"];
        socket.receive(JSON.stringify({ type: "error", kind: "auth_failed", message: "refused" }));
        const afterOtherError = !panel.hidden;
        socket.receive(JSON.stringify({ type: "error", kind: "host_key_changed", message: "WARNING: changed" }));
        return [afterOtherError, !panel.hidden, elements["terminal-status"].textContent];
    """)

    assert shown == [False, True, "WARNING: changed"]
