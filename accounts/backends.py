from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.utils.translation import gettext_lazy as _

from access import rights
from accounts.models import SignIn

LOCAL_LOGIN_OFF = _("Signing in with a VM Lab password is turned off here: use your institution's account.")


class LoginBackend(ModelBackend):
    """Django's ModelBackend, except that a disabled or expired user with the right password is authenticated.

    The login form then refuses them with "This account is disabled" or "has expired" (LoginForm's
    confirm_login_allowed), and only then: a wrong password gets the same answer as an unknown
    username, after the same single password hash, so neither words nor timing reveal who exists.
    Their sessions stay invalid: get_user() returns only active users whose access has not ended.

    Every session is tied to this backend, whichever backend checked the password (accounts.two_factor.sign_in).
    With LOCAL_LOGIN=false only accounts holding access.rights.BREAK_GLASS sign in with a local password.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None or settings.LOCAL_LOGIN or rights.BREAK_GLASS.granted_to(user):
            return user
        if user.sign_in == SignIn.LOCAL and request is not None:
            request.sign_in_problem = LOCAL_LOGIN_OFF
        return None

    def user_can_authenticate(self, user):
        return True

    def get_user(self, user_id):
        # One query per request, the access end compared with the database's clock (as visible_to does), so that
        # a session ends the moment its account expires, whatever ran or did not run meanwhile.
        return get_user_model()._default_manager.active().access_current().filter(pk=user_id).first()
