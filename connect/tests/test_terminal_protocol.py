"""The terminal's messages and output flow control, without a socket (connect.terminal_protocol)."""

import asyncio

import pytest

from connect.terminal_protocol import COLUMNS, OutputWindow, bounded, parse_control, terminal_size


@pytest.mark.parametrize(
    ("value", "expected"), [(132, 132), ("90", 90), (99999, 500), (-5, 10), ("wide", 80), (None, 80)]
)
def test_sizes_are_bounded_numbers_or_the_default(value, expected):
    assert bounded(value, COLUMNS) == expected


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_sizes_that_are_no_finite_number_are_the_default(value):
    assert bounded(value, COLUMNS) == 80


def test_the_size_in_the_query_string():
    assert terminal_size(b"cols=100&rows=30") == (100, 30)
    assert terminal_size(b"cols=1e999") == (80, 24)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '"resize"',
        '{"cols": 80}',
        '{"type": 3}',
        '{"type": "resize", "cols": Infinity}',
        '{"type": "resize", "cols": -Infinity}',
        '{"type": "resize", "rows": NaN}',
    ],
)
def test_what_is_no_control_message_reads_as_none(text):
    assert parse_control(text) == {}


def test_a_control_message_reads_as_a_dict():
    assert parse_control('{"type": "ack", "bytes": 65536}') == {"type": "ack", "bytes": 65536}


def window_after(sent: int, *acknowledgements) -> OutputWindow:
    window = OutputWindow(limit=100)
    window.sent(sent)
    for size in acknowledgements:
        window.acknowledged(size)
    return window


def is_open(window: OutputWindow) -> bool:
    async def wait():
        try:
            async with asyncio.timeout(0.01):
                await window.wait_open()
        except TimeoutError:
            return False
        return True

    return asyncio.run(wait())


def test_the_window_closes_above_its_limit_and_opens_with_acknowledgements():
    assert is_open(window_after(100))
    assert not is_open(window_after(101))
    assert is_open(window_after(150, 50))
    assert not is_open(window_after(150, 49))


@pytest.mark.parametrize("size", [151, 10**9, 0, -50, True, 50.0, "50", None])
def test_acknowledgements_that_are_no_count_of_bytes_sent_are_ignored(size):
    window = window_after(150, size)

    assert window.unacknowledged == 150
    assert not is_open(window)
