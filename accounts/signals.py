"""Logins, failed logins, lockouts and logouts, recorded from Django's and django-axes' signals.

A failed login names the account only when the typed username exists: people sometimes type their
password into the username box, and that text must not be kept.
"""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.models import User
from audit.context import for_request
from audit.models import Action
from audit.services import audit_record


def _account(username):
    if not username:
        return None
    return User.objects.with_username(username).first()


def _failure_details(account, request):
    details = {"path": request.path} if request is not None else {}
    if account is None:
        details["unknown_username"] = True
    if getattr(request, "axes_locked_out", False):
        details["locked_out"] = True
    if getattr(request, "directory_unavailable", False):
        details["directory_unavailable"] = True
    return details


@receiver(user_logged_in, dispatch_uid="audit_login")
def record_login(sender, request, user, **kwargs):
    # How the user signed in ("local", "ldap", "oidc") and with which second factor ("totp", "passkey",
    # "backup_code", "none"), as accounts' sign-in steps leave them on the request.
    details = {"path": request.path, **getattr(request, "sign_in_details", {})}
    audit_record(action=Action.LOGIN, actor=user, target=user, context=for_request(request), details=details)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def record_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action=Action.LOGOUT, actor=user, target=user, context=for_request(request))


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def record_login_failure(sender, credentials, request=None, **kwargs):
    account = _account(credentials.get("username"))
    context = for_request(request) if request is not None else None
    audit_record(
        action=Action.LOGIN_FAILED, target=account, context=context, details=_failure_details(account, request)
    )


@receiver(user_locked_out, dispatch_uid="audit_lockout")
def record_lockout(sender, request, username, **kwargs):
    # axes says "locked out" again on every attempt refused during the lock; only the failure that
    # caused it was counted (axes_failures_since_start), and only that one is a new lockout.
    if getattr(request, "axes_failures_since_start", None) is None:
        return
    account = _account(username)
    details = _failure_details(account, request)
    details.pop("locked_out", None)  # the action says so
    audit_record(action=Action.LOCKOUT, target=account, context=for_request(request), details=details)
