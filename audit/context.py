"""Where a change comes from, as the audit trail records it: the client's address and browser, and the channel.

Services take an AuditContext instead of a request: views build it once per request (`for_request`), the
terminal once per WebSocket connection (`for_scope`), commands pass none.
"""

from dataclasses import dataclass, replace

from vmlab.core.client_ip import client_address, client_ip

USER_AGENT_MAX_LENGTH = 255
ADMIN = "admin"  # `via` of changes made in the Django admin: their audit rows say so


@dataclass(frozen=True)
class AuditContext:
    ip: str | None = None
    user_agent: str = ""
    via: str = ""  # "" for the portal; ADMIN for the Django admin

    def via_admin(self) -> "AuditContext":
        return replace(self, via=ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.via == ADMIN


def for_request(request) -> AuditContext:
    """The request's context, built on first use and kept on the request."""
    context = getattr(request, "_audit_context", None)
    if context is None:
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH]
        context = AuditContext(ip=client_ip(request), user_agent=user_agent)
        request._audit_context = context
    return context


def for_admin_request(request) -> AuditContext:
    return for_request(request).via_admin()


def for_scope(scope) -> AuditContext:
    """The context of a WebSocket connection, from its ASGI scope (headers repeated are joined, as Django does)."""
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        key, text = name.decode("latin1").lower(), value.decode("latin1")
        headers[key] = f"{headers[key]},{text}" if key in headers else text
    client = scope.get("client") or [""]
    return AuditContext(
        ip=client_address(client[0] or "", headers.get("x-forwarded-for", "")),
        user_agent=headers.get("user-agent", "")[:USER_AGENT_MAX_LENGTH],
    )
