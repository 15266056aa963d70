"""What table rows share: links built from one reverse() per table instead of one per row (README, "Benchmarks").

Row builders (machines.tables, bookmarks.tables, people.views, audit.views) turn a page of objects into plain dicts
once, in Python: each value computed a single time, every link from a PkUrl. The templates then only print them,
auto-escaped like any variable, so a row costs a few dictionary lookups.
"""

import unicodedata

from django.template.defaultfilters import truncatechars
from django.urls import reverse

# Stands for the pk while the URL is reversed: long enough never to be part of a URL prefix by chance.
PLACEHOLDER = 918_273_645_546_372_819


class PkUrl:
    """The URL named `name` for any primary key, reversed once: PkUrl("machines:detail")(7) is
    reverse("machines:detail", args=[7]), at the cost of a string format. For URLs with one integer argument."""

    def __init__(self, name: str):
        url = reverse(name, args=[PLACEHOLDER])
        self._before, found, self._after = url.partition(str(PLACEHOLDER))
        if not found or str(PLACEHOLDER) in self._after:
            raise ValueError(f"The URL {name!r} does not hold its argument exactly once: {url}")

    def __call__(self, pk: int) -> str:
        return f"{self._before}{int(pk)}{self._after}"


def shortened(text: str, length: int) -> str:
    """text|truncatechars:length, without the truncating machinery for the many texts that are short enough."""
    text = unicodedata.normalize("NFC", text)  # as truncatechars returns it
    return text if len(text) <= length else truncatechars(text, length)


def first_of(items: list[str], most: int, more: str = ", …") -> str:
    """The first `most` of `items`, joined by commas, with `more` after them when some were left out: a message
    names a few of many rows, tables or migrations."""
    return ", ".join(items[:most]) + (more if len(items) > most else "")
