"""When access ends, as people read it: "12 March 2027, 18:00 (in 3 days)", in the user's time zone."""

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _

register = template.Library()

MOMENT_FORMAT = "j F Y, H:i"


@register.filter
def moment(value) -> str:
    """The date and time in the current (the user's) time zone."""
    return date_format(timezone.localtime(value), MOMENT_FORMAT) if value else ""


@register.filter
def access_end(value) -> str:
    """The moment with how far it is from now: "(in 3 days)", or "(2 hours ago)" once passed."""
    if not value:
        return ""
    now = timezone.now()
    if value > now:
        return _("%(when)s (in %(left)s)") % {"when": moment(value), "left": timeuntil(value, now, depth=1)}
    return _("%(when)s (%(ago)s ago)") % {"when": moment(value), "ago": timesince(value, now, depth=1)}


@register.filter
def has_passed(value) -> bool:
    """For display only: whether the moment is past, by this process's clock (access is decided in SQL)."""
    return bool(value) and value <= timezone.now()
