"""Looking for secrets where they must not be: needles for each secret, and the places to search.

A secret is looked for whole, by its first 16 characters, and (SSH keys) line by line, whatever the case.
The fixtures `every_logger` and `responses` are registered for every test in the root conftest.py.
"""

import logging

import pytest
from django.test import Client

PREFIX_LENGTH = 16
# Shorter lines of a key (its last base64 line, its BEGIN/END lines) are not secret enough to look for.
KEY_LINE_MIN_LENGTH = 16


def needles(*, passwords, keys) -> dict[str, str]:
    """What would betray a secret, mapped to a name for the failure message."""
    found = {}
    for name, password in passwords.items():
        found[password] = name
        found[password[:PREFIX_LENGTH]] = f"{name} (first {PREFIX_LENGTH} characters)"
    for name, key in keys.items():
        found[key.strip()] = name
        for number, line in enumerate(key.splitlines(), 1):
            if len(line) >= KEY_LINE_MIN_LENGTH and not line.startswith("-----"):
                found[line] = f"{name} (line {number})"
    return found


def leaks(places, secrets) -> list[tuple[str, str]]:
    """(where, which secret) for every secret found in the (where, text) `places`, whatever the case."""
    found = []
    for where, text in places:
        found += [(where, name) for needle, name in secrets.items() if needle.lower() in text.lower()]
    return found


@pytest.fixture
def every_logger(caplog):
    """caplog at DEBUG for every logger, also those that set their own level or do not propagate."""
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    saved = [(logger, logger.level, logger.propagate, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.propagate, logger.disabled = True, False
    caplog.set_level(logging.DEBUG)
    yield caplog  # caplog.records, read at the end: it is a new list in each test phase
    for logger, level, propagate, disabled in saved:
        logger.setLevel(level)
        logger.propagate, logger.disabled = propagate, disabled


@pytest.fixture
def responses(monkeypatch):
    """Every response any test client receives, redirects followed included."""
    received = []
    real_request = Client.request

    def recording_request(self, **request):
        response = real_request(self, **request)
        received.append(response)
        return response

    monkeypatch.setattr(Client, "request", recording_request)
    return received


def response_places(received):
    """Headers and body of each response; a streamed body (a file download) was read by the test itself."""
    return [
        (
            f"{r.request['REQUEST_METHOD']} {r.request['PATH_INFO']} {r.status_code}",
            f"{r.headers!r}\n{'' if r.streaming else r.text}",
        )
        for r in received
    ]


def row_places(*models):
    return [(f"{model.__name__} #{row['id']}", repr(row)) for model in models for row in model.objects.values()]
