from django.apps import AppConfig


class ConnectConfig(AppConfig):
    """Working on a VM through the portal: terminal, file transfer, connection test and host keys."""

    name = "connect"
    verbose_name = "Connect"
