"""{% load bookmark_tables %}{% bookmark_rows bookmarks as rows %}: the rows of a bookmark table (bookmarks.tables),
built once per table; their edit and delete links come back to the page that shows them."""

from django import template

from bookmarks import tables

register = template.Library()


@register.simple_tag(takes_context=True)
def bookmark_rows(context, bookmarks):
    return tables.bookmark_rows(bookmarks, back=context["request"].get_full_path())
