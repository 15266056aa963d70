"""The two steps of signing in. After the first (a password, the directory, or the OIDC provider) a user with a
second factor is not logged in at all: the session only remembers who is waiting for which step, for five minutes,
and SecondFactorMiddleware lets it reach nothing but the code form. Only `finish` logs in (django.contrib.auth.login,
then django_otp.login with the device used), and the LOGIN audit row says how and with which second factor.
"""

import time

from django.contrib.auth import login
from django.http import HttpResponse
from django.shortcuts import redirect
from django_otp import login as otp_login
from django_otp.models import Device

from accounts.models import User
from accounts.two_factor import devices

_PENDING = "accounts.pending_sign_in"
PENDING_SECONDS = 300
# Every session is tied to this backend, whichever checked the first step: its get_user() refuses disabled users.
SESSION_BACKEND = "accounts.backends.LoginBackend"


def start(request, user: User, *, redirect_to: str) -> HttpResponse:
    """`user` passed the first step: log them in, or ask for their second factor first."""
    if not devices.has_second_factor(user):
        return finish(request, user, device=None, redirect_to=redirect_to)
    # A new session key: whatever the visitor's session held before is not carried into the signed-in one.
    request.session.cycle_key()
    request.session[_PENDING] = {"user": user.pk, "next": redirect_to, "since": time.time()}
    return redirect("accounts:second_factor")


def has_pending(request) -> bool:
    return _PENDING in request.session


def pending_user(request) -> User | None:
    """The user whose second factor this session is waiting for; None (and forgotten) once it is too old."""
    state = request.session.get(_PENDING)
    if state is None:
        return None
    user = User.objects.filter(pk=state["user"], is_active=True).first()
    if user is None or time.time() - state["since"] > PENDING_SECONDS:
        cancel(request)
        return None
    return user


def pending_redirect(request) -> str:
    return request.session[_PENDING]["next"]


def cancel(request) -> None:
    request.session.pop(_PENDING, None)


def finish(request, user: User, *, device: Device | None, redirect_to: str) -> HttpResponse:
    """Log `user` in, having passed `device` (None: they have no second factor)."""
    cancel(request)
    # Read by audit.signals when it records the login.
    request.sign_in_details = {"how": user.sign_in, "second_factor": devices.kind_of(device) if device else "none"}
    login(request, user, backend=SESSION_BACKEND)
    if device is not None:
        otp_login(request, device)
    return redirect(redirect_to)
