"""The terminal's messages and output flow control, without a socket (connect.terminal_protocol)."""

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
    assert parse_control('{"type": "ack", "id": "x1"}') == {"type": "ack", "id": "x1"}


def sent(window: OutputWindow, *sizes: int) -> list[str]:
    """The marks due after sending `sizes` bytes, one send after another."""
    return [mark for size in sizes if (mark := window.sent(size))]


def test_a_mark_follows_every_mark_every_bytes_of_output():
    window = OutputWindow(limit=300, mark_every=100)

    assert window.sent(60) is None
    first = window.sent(60)  # 120 bytes
    assert first
    assert window.sent(70) is None  # 70 since the mark
    second = window.sent(30)
    assert second
    assert len({first, second}) == 2


def test_mark_ids_cannot_be_guessed():
    window = OutputWindow(limit=10**9, mark_every=1)
    marks = sent(window, *[1] * 1000)

    assert len(set(marks)) == 1000
    assert min(len(mark) for mark in marks) >= 20  # 16 random bytes


def test_the_window_shuts_above_its_limit_and_opens_once_the_oldest_marks_are_echoed():
    window = OutputWindow(limit=200, mark_every=100)
    first, second, third = sent(window, 100, 100, 100)
    assert not window.is_open  # 300 sent, none shown

    assert window.acknowledged(first)
    assert window.is_open  # 200 not shown
    assert window.acknowledged(second)
    assert window.acknowledged(third)
    assert window.unacknowledged == 0


def test_a_mark_covers_all_output_sent_before_it_in_whatever_pieces():
    window = OutputWindow(limit=100, mark_every=100)
    [mark] = sent(window, 30, 30, 50)
    sent(window, 40)

    window.acknowledged(mark)

    assert window.unacknowledged == 40


@pytest.mark.parametrize("echo", ["unknown id", "", None, 0, ["list"], "repeated", "out of order"])
def test_only_the_oldest_mark_not_yet_echoed_counts(echo):
    window = OutputWindow(limit=100, mark_every=100)
    first, second, third = sent(window, 100, 100, 100)
    assert window.acknowledged(first)
    echo = {"repeated": first, "out of order": third}.get(echo, echo) if isinstance(echo, str) else echo

    assert not window.acknowledged(echo)

    assert window.unacknowledged == 200
    assert not window.is_open
    assert window.acknowledged(second)
    assert window.is_open


def test_marks_must_come_within_the_limit():
    with pytest.raises(ValueError, match="apart"):
        OutputWindow(limit=100, mark_every=101)
