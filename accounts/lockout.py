"""django-axes hooks: one lockout count per account and address, the 429 page, and the same count for
the password checks outside the login form (reveal, password change, profile)."""

import math

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from audit.context import for_request
from audit.models import Action
from audit.services import audit_record
from vmlab.core.client_ip import lockout_ip


def username_for_lockout(request, credentials=None) -> str:
    """The name axes counts failures under, and stores.

    For an existing account, its own username as stored, whatever case or spelling the database
    matched ("Alice"; on PostgreSQL even a dotless i for an i): one count per account. Any other text is
    stored only as a keyed hash: it may be a password typed into the username box. Looked up once per
    request: axes asks several times while it handles one attempt.
    """
    typed = ((credentials or request.POST).get("username") or "").strip()
    names = request.__dict__.setdefault("_lockout_names", {})
    if typed not in names:
        names[typed] = _lockout_name(typed)
    return names[typed]


def _lockout_name(typed: str) -> str:
    account = get_user_model()._default_manager.with_username(typed).values_list("username", flat=True).first()
    if account is not None:
        return account
    return "unknown:" + salted_hmac("accounts.lockout.unknown-username", typed.lower()).hexdigest()[:32]


def minutes_left(request, credentials=None) -> int:
    """Minutes until the lockout of this account (request.user's, or `credentials`') from this address ends."""
    if credentials is None and request.user.is_authenticated:
        credentials = _credentials(request.user)
    attempt = (
        AccessAttempt.objects.filter(
            username=username_for_lockout(request, credentials), ip_address=lockout_ip(request)
        )
        .order_by("-attempt_time")
        .first()
    )
    if attempt is None:
        return math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    left = attempt.attempt_time + settings.AXES_COOLOFF_TIME - timezone.now()
    return max(1, math.ceil(left.total_seconds() / 60))


def lockout_response(request, original_response=None, credentials=None):
    context = {"minutes_left": minutes_left(request, credentials), "failure_limit": settings.AXES_FAILURE_LIMIT}
    return TemplateResponse(request, "registration/locked_out.html", context, status=429).render()


def _credentials(user):
    return {"username": user.get_username()}


def password_check_allowed(request, user) -> bool:
    """False while `user` is locked out from this address: then do not even check the password."""
    return AxesProxyHandler.is_allowed(request, _credentials(user))


def count_failed_password_check(request, user) -> bool:
    """Count a wrong password typed outside the login form; True if that locked the account out."""
    AxesProxyHandler.user_login_failed(sender=__name__, credentials=_credentials(user), request=request)
    return bool(getattr(request, "axes_locked_out", False))


def count_refused_identity(request, user, refusal) -> bool:
    """The one count of a refused accounts.identity.confirm_identity (the reveal form, the REST API, removing a
    second factor): a wrong password or code counts like a failed login (the caller records what was refused).
    True if that locked the account out: answer with lockout_response then."""
    return refusal.counts_as_failure and count_failed_password_check(request, user)


def count_wrong_second_factor(request, user) -> bool:
    """A wrong code (or passkey) at the second step of signing in: counted like a wrong password, for the account
    and address. True if that locked the account out."""
    _record_failed_second_step(request, user)
    return count_failed_password_check(request, user)


def record_uncounted_second_factor(request, user, reason: str) -> None:
    """A second step refused for a `reason` that is no guess of the user's (an authenticator app that cannot check
    codes: accounts.two_factor.verification.AuthenticatorUnreadable): recorded, not counted toward the lockout."""
    _record_failed_second_step(request, user, reason=reason)


def _record_failed_second_step(request, user, **details) -> None:
    audit_record(
        action=Action.LOGIN_FAILED,
        target=user,
        context=for_request(request),
        details={"path": request.path, "step": "second_factor", **details},
    )


def refuse_wrong_password(request, form, field: str):
    """After `form` checked the user's own password in `field`: a wrong one is recorded and counts like
    a failed login. Returns the lockout page if that locked the account, else None."""
    if not form.has_error(field, code="password_incorrect"):
        return None
    audit_record(
        action=Action.LOGIN_FAILED,
        actor=request.user,
        target=request.user,
        context=for_request(request),
        details={"path": request.path},
    )
    return lockout_response(request) if count_failed_password_check(request, request.user) else None


def not_counted(request, credentials=None) -> bool:
    """AXES_WHITELIST_CALLABLE: a sign-in that failed because the directory did not answer is not the user's wrong
    password, and does not count toward their lockout."""
    return bool(getattr(request, "directory_unavailable", False))


def unlock(user) -> None:
    """End every lockout of `user`, e.g. once they proved who they are by resetting their password."""
    AxesProxyHandler.reset_attempts(username=user.get_username())
