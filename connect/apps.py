from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectConfig(AppConfig):
    """Working on a VM through the portal: terminal, file transfer, connection test and host keys."""

    name = "connect"
    verbose_name = _("Connect")
