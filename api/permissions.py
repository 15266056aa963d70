"""What a caller may use at all: an approved account, the token's scope, the rights of PRODUCT.md §3.

Objects are decided by the queryset verbs in each view (404 for what the caller may not reach); an endpoint whose
right the caller's role lacks answers 404 too, as its page does.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from access import rights
from accounts.models import ApiToken

AWAITING_APPROVAL = _("Your account is waiting for a manager's approval.")
READ_ONLY_TOKEN = _("This token has the read scope: it may only read. Create a token with the write scope.")
SESSION_ONLY = _("Tokens are created in a signed-in browser session (the profile page), not with another token.")


class ApprovedUser(BasePermission):
    """Signed in with an account that may use the portal; newcomers are told they are waiting for approval."""

    def has_permission(self, request, view):
        if not request.user.is_authenticated:
            return False
        if not rights.USE_PORTAL.granted_to(request.user):
            raise exceptions.PermissionDenied(AWAITING_APPROVAL, code="awaiting_approval")
        return True


class SignedIn(BasePermission):
    """Any signed-in account, newcomers included (`me/`)."""

    def has_permission(self, request, view):
        return bool(request.user.is_authenticated)


class TokenScope(BasePermission):
    """A read-scope token may only use safe methods; a write-scope token and a session everything."""

    def has_permission(self, request, view):
        token = request.auth
        if isinstance(token, ApiToken) and not token.may_write and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied(READ_ONLY_TOKEN, code="read_only_token")
        return True


class SessionOnly(BasePermission):
    """Creating a token (POST) needs the browser session: a leaked token cannot make itself more tokens."""

    def has_permission(self, request, view):
        if isinstance(request.auth, ApiToken) and request.method == "POST":
            raise exceptions.PermissionDenied(SESSION_ONLY, code="session_only")
        return True


def holding(right: rights.Right) -> type[BasePermission]:
    """A permission for endpoints of one right (access.rights): everyone else gets 404, as from the page."""

    class HoldsRight(BasePermission):
        def has_permission(self, request, view):
            if not right.granted_to(request.user):
                raise exceptions.NotFound()
            return True

    HoldsRight.__name__ = f"Holds{right.name.title().replace(' ', '')}"
    return HoldsRight


DEFAULT = [ApprovedUser, TokenScope]
