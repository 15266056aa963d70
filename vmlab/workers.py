"""The gunicorn worker class of the production server (deploy/gunicorn.conf.py)."""

import logging
import re

from uvicorn_worker import UvicornWorker

# /accounts/reset/<uidb64>/<token>/: the e-mailed link works until used or an hour old. Django moves the token
# into the session and redirects to .../set-password/ at once, so only the first request carries it.
RESET_TOKEN = re.compile(r"(/reset/[^/?]+/)(?!set-password/)[^/?]+")


class RedactResetTokens(logging.Filter):
    """Keep password-reset tokens out of the access log; the rest of the line stays as uvicorn wrote it."""

    def filter(self, record):
        if isinstance(record.args, tuple) and len(record.args) > 2 and isinstance(record.args[2], str):
            path = RESET_TOKEN.sub(r"\1[token]", record.args[2])
            record.args = (*record.args[:2], path, *record.args[3:])
        return True


class Worker(UvicornWorker):
    """uvicorn inside gunicorn: HTTP and the terminal's WebSockets, one event loop per process.

    Django alone reads X-Forwarded-For and X-Forwarded-Proto (TRUSTED_PROXY_COUNT, SECURE_PROXY_SSL), so
    that a client address or scheme is never taken from a header the operator has not said to trust.
    Django's ASGI handler has no lifespan events, and the Server header would only advertise the software.
    """

    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "proxy_headers": False, "lifespan": "off", "server_header": False}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        logging.getLogger("uvicorn.access").addFilter(RedactResetTokens())
