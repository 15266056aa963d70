"""{% load file_sizes %}{{ size|file_size }}: sizes in KiB and MiB, as the README and the 413 page give them."""

from django import template

from connect import sftp

register = template.Library()


@register.filter
def file_size(size: int | None) -> str:
    """Nothing for a size the server did not say."""
    return "" if size is None else sftp.file_size(size)
