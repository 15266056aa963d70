from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessRequestsConfig(AppConfig):
    """Access requests and their queue, extension requests, and the reminders sent before access ends."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "access_requests"
    verbose_name = _("Access requests")
