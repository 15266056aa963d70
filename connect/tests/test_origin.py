"""Only the portal's own pages may open a terminal: the Origin must be the site the WebSocket was sent to."""

import pytest

from connect.origin import same_origin


def scope(origin=None, host="vmlab.example"):
    headers = [(b"host", host.encode())] if host else []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "headers": headers}


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("https://vmlab.example", "vmlab.example"),
        ("http://vmlab.example:8000", "vmlab.example:8000"),
        ("https://VMLab.example", "vmlab.example"),
    ],
)
def test_the_portals_own_pages_may_open_it(origin, host):
    assert same_origin(scope(origin, host))


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://vmlab.example:6666", "vmlab.example"),  # another service on the same host name
        ("http://vmlab.example", "vmlab.example:8000"),
        ("https://evil.example", "vmlab.example"),
        ("null", "vmlab.example"),
        (None, "vmlab.example"),
        ("https://vmlab.example", None),
    ],
)
def test_other_origins_may_not(origin, host):
    assert not same_origin(scope(origin, host))


def test_an_origin_listed_in_csrf_trusted_origins_may(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://portal.lab.example"]

    assert same_origin(scope("https://portal.lab.example", "internal:8000"))
