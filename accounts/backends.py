from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class LoginBackend(ModelBackend):
    """Django's ModelBackend, except that a disabled or expired user with the right password is authenticated.

    The login form then refuses them with "This account is disabled" or "has expired" (LoginForm's
    confirm_login_allowed), and only then: a wrong password gets the same answer as an unknown
    username, after the same single password hash, so neither words nor timing reveal who exists.
    Their sessions stay invalid: get_user() returns only active users whose access has not ended.
    """

    def user_can_authenticate(self, user):
        return True

    def get_user(self, user_id):
        # One query per request, the access end compared with the database's clock (as visible_to does), so that
        # a session ends the moment its account expires, whatever ran or did not run meanwhile.
        return get_user_model()._default_manager.active().access_current().filter(pk=user_id).first()
