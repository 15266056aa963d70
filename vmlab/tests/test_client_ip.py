"""Which address a request came from, directly or through the configured number of reverse proxies."""

import pytest
from django.test import RequestFactory

from vmlab.core.client_ip import client_ip, lockout_ip


def request_from(remote="10.0.0.1", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),  # no proxy configured: the header is the client's own claim
        (1, None, "10.0.0.1"),
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "1.1.1.1, 203.0.113.9", "203.0.113.9"),  # what the client wrote itself is on the left
        (2, "1.1.1.1, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.1"),  # shorter than the chain of proxies: not trusted
        (1, "not-an-address", "10.0.0.1"),
        (1, " 2001:db8::5 ", "2001:db8::5"),
    ],
)
def test_the_client_address_is_read_from_the_right_of_x_forwarded_for(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies

    assert client_ip(request_from(forwarded=forwarded)) == expected


def test_there_is_no_address_without_a_request():
    assert client_ip(None) is None


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("192.0.2.10", "192.0.2.10"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::"),
    ],
)
def test_lockouts_count_an_ipv6_client_by_its_64_network(settings, remote, expected):
    settings.TRUSTED_PROXY_COUNT = 0

    assert lockout_ip(request_from(remote=remote)) == expected
