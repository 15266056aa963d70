"""Sizes as people read them, in the binary units the README and the settings use."""

import math

from django.utils.formats import number_format
from django.utils.translation import ngettext


def file_size(size: int | None) -> str:
    """In binary units as the README and the 413 page give sizes: 1001 bytes, 1.2 KiB, 100 MiB; nothing for a size
    the server did not say. The one formatter of sizes: messages, the 413 page, and (as the file_size filter) the pages.

    Rounded down to a tenth, so that a limit is never shown larger than it is.
    """
    if size is None:
        return ""
    if size < 1024:
        # The number and its unit never part at a line's end (xgettext cannot read a \xa0 in the msgid itself).
        return (ngettext("%(size)d byte", "%(size)d bytes", size) % {"size": size}).replace(" ", "\xa0")
    value, unit = size / 1024, "KiB"
    for larger in ("MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    rounded = math.floor(value * 10) / 10
    # With the decimal separator of the page's language: 1.2 KiB in English, 1,2 KiB in Italian.
    return f"{number_format(rounded, decimal_pos=0 if rounded.is_integer() else 1)}\xa0{unit}"
