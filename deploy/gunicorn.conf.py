"""gunicorn settings for `make serve-prod` and the Docker image. Environment: BIND, WEB_CONCURRENCY."""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Each worker is one process with one event loop; Django's views run on threads beside it. By default one
# worker per CPU core, at least two so that a restart of one never leaves the site without a server.
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, os.cpu_count() or 1)))
worker_class = "vmlab.workers.Worker"
# Open terminals get this long to finish when a worker stops; then they are closed and the browser says so.
graceful_timeout = 30
accesslog = "-"


def on_starting(server):
    """Refuse to start several workers that would each keep their own rate-limit counters."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vmlab.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    backend = settings.CACHES["default"]["BACKEND"]
    if server.cfg.workers > 1 and backend.endswith("LocMemCache"):
        raise ImproperlyConfigured(
            f"{server.cfg.workers} workers with the local-memory cache would each count rate limits on their own: "
            "set CACHE_URL to a shared cache such as redis://127.0.0.1:6379/0, or WEB_CONCURRENCY=1."
        )
