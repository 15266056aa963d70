"""When access ends, as people read it: "12 March 2027, 18:00 (in 3 days)", in the user's time zone."""

from django import template
from django.utils import timezone

from vmlab.core.dates import access_end, moment

register = template.Library()

register.filter(moment)
register.filter(access_end)


@register.filter
def has_passed(value) -> bool:
    """For display only: whether the moment is past, by this process's clock (access is decided in SQL)."""
    return bool(value) and value <= timezone.now()
