from django.apps import AppConfig


class AccessRequestsConfig(AppConfig):
    """Access requests and their queue, extension requests, and the reminders sent before access ends."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "access_requests"
    verbose_name = "Access requests"
