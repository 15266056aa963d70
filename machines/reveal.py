"""Revealing a secret, as the VM page and the API both do it: one rate limit, one lockout count, one service.

A caller first asks `reveal_gate` (before it even reads what was sent), then, with a valid request, `reveal_secret`.
Both raise the refusals below; the page turns them into its pages, the API into JSON errors.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from accounts import lockout
from accounts.identity import IdentityRefused
from audit.context import for_request
from machines import services
from machines.models import VirtualMachine
from vmlab.core import ratelimit

TOO_MANY_ATTEMPTS = gettext_lazy("Too many attempts, wait a minute and try again.")
REVEAL_WINDOW = 60  # seconds over which REVEAL_RATE_LIMIT attempts are counted


class TooManyAttempts(Exception):
    """More than REVEAL_RATE_LIMIT reveal attempts by this user in the last minute."""


class LockedOut(Exception):
    """The account is locked out from this address (django-axes): no password is checked."""


def reveal_gate(request) -> None:
    """Count one reveal attempt of request.user; TooManyAttempts or LockedOut if it may not go on."""
    if not ratelimit.allow(f"reveal:{request.user.pk}", limit=settings.REVEAL_RATE_LIMIT, window=REVEAL_WINDOW):
        raise TooManyAttempts(TOO_MANY_ATTEMPTS)
    if not lockout.password_check_allowed(request, request.user):
        raise LockedOut


@sensitive_variables()
def reveal_secret(
    request,
    *,
    vm: VirtualMachine,
    field: str,
    account_password: str,
    otp_token: str = "",
    passkey_confirmed: bool = False,
) -> str:
    """The plaintext of `field` after reveal_gate let the attempt through (machines.services.vm_reveal_secret, which
    confirms who is asking with accounts.identity: the password, and a code or a passkey just used when the user has
    a second factor).

    A refusal counts like a failed login (accounts.lockout.count_refused_identity): it raises
    accounts.identity.IdentityRefused, which says what was wrong, or LockedOut if it locked the account.
    """
    try:
        return services.vm_reveal_secret(
            vm=vm,
            actor=request.user,
            field=field,
            account_password=account_password,
            otp_token=otp_token,
            passkey_confirmed=passkey_confirmed,
            context=for_request(request),
        )
    except IdentityRefused as refusal:
        # Counted like a failed login: guessing here must not be a way around the lockout.
        if lockout.count_refused_identity(request, request.user, refusal):
            raise LockedOut from None
        raise
