"""The address a request came from, as the lockout and the audit trail both record it."""

import ipaddress

from django.conf import settings


def client_address(remote_addr: str | None, forwarded_for: str = "") -> str | None:
    """`remote_addr`, or behind TRUSTED_PROXY_COUNT proxies the address the outermost of them saw.

    X-Forwarded-For (`forwarded_for`) is read from the right: entries further left were written by the client
    itself and prove nothing. A header shorter than the proxy count, or not an address, falls back to `remote_addr`.
    """
    remote = remote_addr or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies:
        return remote
    forwarded = [entry.strip() for entry in forwarded_for.split(",") if entry.strip()]
    if len(forwarded) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:
        return remote


def client_ip(request) -> str | None:
    """client_address of a Django request; None without one."""
    if request is None:
        return None
    return client_address(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR", ""))


def lockout_ip(request) -> str | None:
    """The address lockouts are counted for: client_ip, except that an IPv6 client counts as its /64.

    One IPv6 host usually holds a whole /64 and could otherwise try 5 passwords from each address in it.
    """
    address = client_ip(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return address
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address)
