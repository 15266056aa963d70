from django.contrib.auth.backends import ModelBackend


class LoginBackend(ModelBackend):
    """Django's ModelBackend, except that a disabled user with the right password is authenticated.

    The login form then refuses them with "This account is disabled" (AuthenticationForm's
    confirm_login_allowed), and only then: a wrong password gets the same answer as an unknown
    username, after the same single password hash, so neither words nor timing reveal who exists.
    Their sessions stay invalid: get_user() still returns only active users.
    """

    def user_can_authenticate(self, user):
        return True

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None
