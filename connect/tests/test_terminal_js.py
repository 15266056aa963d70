"""static/js/terminal.js in Node, against a fake WebSocket and a fake xterm.js (connect/tests/terminal_harness.js):
what the browser sends back to the consumer, and what it shows."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from connect import consumers

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js runs the terminal's JavaScript")

HARNESS = Path(__file__).with_name("terminal_harness.js")
TERMINAL_JS = Path(settings.BASE_DIR) / "static" / "js" / "terminal.js"
KIB = 1024


def run(scenario: str):
    """What `scenario` returns, run once terminal.js has opened its WebSocket."""
    completed = subprocess.run(
        ["node", str(HARNESS), str(TERMINAL_JS)], input=scenario, capture_output=True, text=True, timeout=30
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_output_is_acknowledged_once_xterm_has_written_about_64_kib():
    acks = run("""
        const [socket] = sockets, [term] = terminals;
        const acks = () => socket.controls().filter((message) => message.type === "ack");
        socket.receive(new ArrayBuffer(40 * 1024));
        socket.receive(new ArrayBuffer(40 * 1024));
        const beforeWritten = acks().length;
        term.finishWriting();
        const afterWritten = acks().length;
        socket.receive(new ArrayBuffer(10 * 1024));
        term.finishWriting();
        return [beforeWritten, afterWritten, acks()];
    """)

    assert acks == [0, 1, [{"type": "ack", "bytes": 80 * KIB}]]
    assert 80 * KIB < consumers.UNACKED_OUTPUT_LIMIT  # the server never waits for an ack the browser holds back


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
