"""{% load file_sizes %}{{ size|file_size }}: vmlab.core.sizes.file_size, the formatter the messages use too."""

from django import template

from vmlab.core.sizes import file_size

register = template.Library()
register.filter("file_size", file_size)
