from django.db import models
from django.db.models import Q


def user_filter(field, user_or_username):
    """Match a User instance or a username (any case), as the original helpers accepted either."""
    if isinstance(user_or_username, str):
        return Q(**{f"{field}__username__iexact": user_or_username})
    return Q(**{field: user_or_username})


class OwnedQuerySet(models.QuerySet):
    """Lookups by owner, for every model that has an `owner`."""

    def owned_by(self, user_or_username):
        return self.filter(user_filter("owner", user_or_username))

    def exclude_owner(self, user_or_username):
        return self.exclude(user_filter("owner", user_or_username))
