"""The gunicorn worker class of the production server (deploy/gunicorn.conf.py)."""

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    """uvicorn inside gunicorn: HTTP and the terminal's WebSockets, one event loop per process.

    Django alone reads X-Forwarded-For and X-Forwarded-Proto (TRUSTED_PROXY_COUNT, SECURE_PROXY_SSL), so
    that a client address or scheme is never taken from a header the operator has not said to trust.
    Django's ASGI handler has no lifespan events, and the Server header would only advertise the software.
    """

    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "proxy_headers": False, "lifespan": "off", "server_header": False}
