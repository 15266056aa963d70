"""django-axes (the login lockout) under a name the admin can translate: its own AppConfig's is English only. In a
module of its own, so that accounts.apps keeps a single AppConfig (Django's default for the accounts app)."""

from axes.apps import AppConfig as AxesConfig
from django.utils.translation import gettext_lazy as _


class LoginLockoutConfig(AxesConfig):
    verbose_name = _("Login lockout")
