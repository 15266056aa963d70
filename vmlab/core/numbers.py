"""Counts as people read them: with the thousands separator of the page's language (5,000 in English, 5.000 in
Italian)."""

from django.utils.formats import number_format


def grouped(number: int) -> str:
    return number_format(number, force_grouping=True)
