"""{% load file_sizes %}{{ size|file_size }}: connect.sftp.file_size, the formatter the messages use too."""

from django import template

from connect.sftp import file_size

register = template.Library()
register.filter("file_size", file_size)
