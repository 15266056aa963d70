"""Confirming who is at the keyboard before a sensitive action (revealing a secret, removing a second factor).

One function for every caller, the portal's forms and the REST API alike: it takes the user and what they typed,
never a request. The caller counts a refusal toward the lockout with accounts.lockout.count_refused_identity,
which is where the request (the client's address) is needed.
"""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts import directory
from accounts.models import SignIn, User
from accounts.two_factor import devices
from accounts.two_factor.verification import AuthenticatorUnreadable, verify_code
from audit.context import AuditContext

WRONG_PASSWORD, WRONG_CODE, CODE_NEEDED, UNAVAILABLE = "wrong_password", "wrong_code", "code_needed", "unavailable"
# The user's authenticator app cannot check codes: its seed does not decrypt with FIELD_ENCRYPTION_KEYS.
APP_UNREADABLE = AuthenticatorUnreadable.reason


class IdentityRefused(PermissionDenied):
    """`reason` is one of WRONG_PASSWORD, WRONG_CODE, CODE_NEEDED, UNAVAILABLE, APP_UNREADABLE; the message is for
    the user; `field` is the form field it belongs to ("password" or "otp_token")."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message

    @property
    def field(self) -> str:
        return "password" if self.reason in (WRONG_PASSWORD, UNAVAILABLE) else "otp_token"

    @property
    def counts_as_failure(self) -> bool:
        """A wrong password or a wrong code counts toward the lockout; a missing code, a silent directory or an
        authenticator app that cannot check codes does not."""
        return self.reason in (WRONG_PASSWORD, WRONG_CODE)


def needs_password(user: User) -> bool:
    """OIDC accounts have no password anywhere VM Lab can check: their second factor confirms who they are."""
    return user.sign_in != SignIn.OIDC


def confirm_identity(
    *,
    user: User,
    password: str = "",
    otp_token: str = "",
    passkey_confirmed: bool = False,
    context: AuditContext | None = None,
) -> str:
    """Check that `user` is at the keyboard; return how ("password", "password+code", "code",
    "password+passkey" or "passkey"), or raise
    IdentityRefused with the reason.

    - password: the account's own, checked by VM Lab for local accounts and by the directory for LDAP accounts
      (a directory that does not answer gives UNAVAILABLE). OIDC accounts have none and send "".
    - otp_token: a code of the user's authenticator app, or one of their backup codes (used up), required when the
      user has a second factor; for an OIDC account it is required, so such a user needs a second factor first.
      A code is refused once used (no replay within its time step). An authenticator app whose seed no key
      decrypts gives APP_UNREADABLE (or WRONG_CODE when another app of the user refused the code).
    - passkey_confirmed: True when the caller has just seen the user pass a WebAuthn assertion with one of their
      passkeys (the portal's accounts.two_factor.passkey_confirmation); it stands for the code. API callers, which
      have no browser to hold a passkey, leave it False.

    The password is checked first, so a wrong password does not use up a code.
    """
    has_factor = devices.has_second_factor(user)
    if needs_password(user):
        _check_password(user, password)
    elif not has_factor:
        raise IdentityRefused(
            CODE_NEEDED,
            _(
                "Your account signs in through your institution and has no password here: set up a second factor "
                "(Profile → Two-factor sign-in) to confirm this."
            ),
        )
    if not has_factor:
        return "password"
    if passkey_confirmed and not otp_token.strip():
        return "password+passkey" if needs_password(user) else "passkey"
    if not otp_token.strip():
        raise IdentityRefused(CODE_NEEDED, _("Enter a code of your authenticator app, or one of your backup codes."))
    try:
        device = verify_code(user, otp_token, context=context)
    except AuthenticatorUnreadable as unreadable:
        raise IdentityRefused(WRONG_CODE if unreadable.counted else APP_UNREADABLE, unreadable.message) from None
    if device is None:
        raise IdentityRefused(WRONG_CODE, _("This code is not valid, or was used already."))
    return "password+code" if needs_password(user) else "code"


def _check_password(user: User, password: str) -> None:
    if user.sign_in == SignIn.LDAP:
        try:
            correct = directory.check_password(user, password)
        except directory.DirectoryUnavailable as error:
            raise IdentityRefused(UNAVAILABLE, str(error)) from error
    else:
        correct = user.check_password(password)
    if not correct:
        raise IdentityRefused(WRONG_PASSWORD, _("Your password is not correct."))
