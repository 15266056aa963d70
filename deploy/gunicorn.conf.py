"""gunicorn settings for `make serve-prod` and the Docker image. Environment: BIND, WEB_CONCURRENCY."""

import os

bind = os.environ.get("BIND") or "127.0.0.1:8000"
# Each worker is one process with one event loop; Django's views run on threads beside it. By default one
# worker per CPU this process may use, at least two so that a restart of one never leaves the site without a server.
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, len(os.sched_getaffinity(0))))
worker_class = "vmlab.workers.Worker"
# Requests under way get this long when a worker stops; open terminals are closed at once (WebSocket code 1012)
# and the page offers to reconnect.
graceful_timeout = 30
accesslog = "-"

# Caches whose add() is atomic for every process that shares them: what rate limits and terminal counts need.
SHARED_CACHES = ("RedisCache", "PyMemcacheCache", "PyLibMCCache", "DatabaseCache")


def on_starting(server):
    """Refuse a cache that would switch the rate limits off, or let each worker count them on its own."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vmlab.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    if backend == "DummyCache":
        raise ImproperlyConfigured("CACHE_URL is a dummy cache, which would switch every rate limit off.")
    if server.cfg.workers > 1 and backend not in SHARED_CACHES:
        raise ImproperlyConfigured(
            f"{server.cfg.workers} workers with the {backend} would each count rate limits on their own: "
            "set CACHE_URL to a shared cache such as redis://127.0.0.1:6379/0, or WEB_CONCURRENCY=1."
        )
