"""API_RATE_LIMIT requests a minute per token, or per user for a browser session, counted in the shared cache."""

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from accounts.models import ApiToken
from vmlab.core import ratelimit


class PerTokenThrottle(BaseThrottle):
    def allow_request(self, request, view):
        if isinstance(request.auth, ApiToken):
            key = f"api:token:{request.auth.pk}"
        elif request.user.is_authenticated:
            key = f"api:user:{request.user.pk}"
        else:
            return True  # refused by authentication anyway
        self.retry_after = ratelimit.window_wait(key, limit=settings.API_RATE_LIMIT)
        return self.retry_after is None

    def wait(self):
        return self.retry_after
