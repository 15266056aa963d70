"""Only the portal's own pages may open a terminal: the Origin must be the site the WebSocket was sent to."""

import pytest

from connect.origin import same_origin


def scope(origin=None, host="vmlab.example", scheme="ws", headers=()):
    sent = [(b"host", host.encode())] if host else []
    if origin is not None:
        sent.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": [*sent, *headers]}


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        ("http://vmlab.example", "vmlab.example", "ws"),
        ("https://vmlab.example", "vmlab.example", "wss"),
        ("http://vmlab.example:8000", "vmlab.example:8000", "ws"),
        ("http://VMLab.example", "vmlab.example", "ws"),
    ],
)
def test_the_portals_own_pages_may_open_it(origin, host, scheme):
    assert same_origin(scope(origin, host, scheme))


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        ("http://vmlab.example:6666", "vmlab.example", "ws"),  # another service on the same host name
        ("http://vmlab.example", "vmlab.example:8000", "ws"),
        ("http://vmlab.example", "vmlab.example", "wss"),  # a plain-HTTP page on an HTTPS site
        ("https://vmlab.example", "vmlab.example", "ws"),
        ("https://evil.example", "vmlab.example", "wss"),
        ("null", "vmlab.example", "ws"),
        (None, "vmlab.example", "ws"),
        ("http://vmlab.example", None, "ws"),
    ],
)
def test_other_origins_may_not(origin, host, scheme):
    assert not same_origin(scope(origin, host, scheme))


def test_behind_a_tls_proxy_the_page_is_https_when_the_proxy_says_so(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    forwarded = [(b"x-forwarded-proto", b"https")]

    assert same_origin(scope("https://vmlab.example", headers=forwarded))
    assert not same_origin(scope("http://vmlab.example", headers=forwarded))
    assert not same_origin(scope("https://vmlab.example"))  # the proxy did not say so


def test_an_origin_listed_in_csrf_trusted_origins_may(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://portal.lab.example"]

    assert same_origin(scope("https://portal.lab.example", "internal:8000"))
