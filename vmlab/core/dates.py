"""Ends of access: "until 12 March" means until the end of that day, in the time zone of whoever says it."""

import datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


def end_of_day(day: datetime.date, zone: datetime.tzinfo | None = None) -> datetime.datetime:
    """The last moment of `day` in `zone` (default: the current time zone), shown as 23:59."""
    return datetime.datetime.combine(day, datetime.time.max, tzinfo=zone or timezone.get_current_timezone())


def parse_end(value: object, zone: datetime.tzinfo | None = None) -> datetime.datetime:
    """An access end from a date (the end of that day) or a date and time (in `zone` unless it has an offset),
    given as text in ISO 8601 or as the date or datetime YAML reads; ValueError otherwise."""
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        return end_of_day(value, zone)
    elif isinstance(value, str):
        text = value.strip()
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            if day is None:
                raise ValueError(text)
            return end_of_day(day, zone)
    else:
        raise ValueError(repr(value))
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=zone or timezone.get_current_timezone())
    return moment
