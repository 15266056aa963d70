"""Ends of access: "until 12 March" means until the end of that day, in the time zone of whoever says it."""

import datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _


def end_of_day(day: datetime.date, zone: datetime.tzinfo | None = None) -> datetime.datetime:
    """The last moment of `day` in `zone` (default: the current time zone), shown as 23:59."""
    return datetime.datetime.combine(day, datetime.time.max, tzinfo=zone or timezone.get_current_timezone())


def parse_end(value: object, zone: datetime.tzinfo | None = None) -> datetime.datetime:
    """An access end from a date (the end of that day) or a date and time (in `zone` unless it has an offset),
    given as text in ISO 8601 or as the date or datetime YAML reads; ValueError otherwise."""
    if isinstance(value, datetime.datetime):
        when = value
    elif isinstance(value, datetime.date):
        return end_of_day(value, zone)
    elif isinstance(value, str):
        text = value.strip()
        day = _date(text)  # first: Python reads "2027-03-12" as a datetime too, at midnight
        if day is not None:
            return end_of_day(day, zone)
        when = _datetime(text)
        if when is None:
            raise ValueError(text)
    else:
        raise ValueError(repr(value))
    if timezone.is_naive(when):
        when = when.replace(tzinfo=zone or timezone.get_current_timezone())
    return when


def _date(text: str) -> datetime.date | None:
    try:
        return parse_date(text)
    except ValueError:  # well formed but not a day, e.g. 2027-13-01
        return None


def _datetime(text: str) -> datetime.datetime | None:
    try:
        return parse_datetime(text)
    except ValueError:
        return None


def utc_text(value: datetime.datetime | None) -> str | None:
    """For the audit trail: the moment in UTC, ISO 8601, whatever time zone it was typed in."""
    return value.astimezone(datetime.UTC).isoformat() if value is not None else None


MOMENT_FORMAT = "j F Y, H:i"


def moment(value) -> str:
    """The date and time in the current (the user's) time zone."""
    return date_format(timezone.localtime(value), MOMENT_FORMAT) if value else ""


def access_end(value) -> str:
    """The moment with how far it is from now: "(in 3 days)", or "(2 hours ago)" once passed."""
    if not value:
        return ""
    now = timezone.now()
    if value > now:
        return _("%(when)s (in %(left)s)") % {"when": moment(value), "left": timeuntil(value, now, depth=1)}
    return _("%(when)s (%(ago)s ago)") % {"when": moment(value), "ago": timesince(value, now, depth=1)}
