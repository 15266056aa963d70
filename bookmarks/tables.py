"""The rows of a bookmark table (templates/bookmarks/includes/bookmark_table.html), built once per table."""

from collections.abc import Iterable
from urllib.parse import quote

from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext

from vmlab.core.rows import PkUrl, shortened

LINK_SHOWN = 80
DESCRIPTION_SHOWN = 160


def bookmark_rows(bookmarks: Iterable[tuple], *, back: str) -> list[dict]:
    """One dict per bookmark with what its row shows, from the rows of Bookmark.objects.for_table(); its edit and
    delete links come back to `back` (a path on this site) once done."""
    tag_url = f"{reverse('bookmarks:list')}?tag="
    edit_url, delete_url = PkUrl("bookmarks:edit"), PkUrl("bookmarks:delete")
    next_param = f"?next={quote(back)}"
    edit_label, delete_label = gettext("Edit %(name)s"), gettext("Delete %(name)s")  # once per table
    rows = []
    for bookmark in bookmarks:
        description = bookmark.description
        rows.append(
            {
                "name": bookmark.name,
                "link": bookmark.link,
                "link_shown": shortened(bookmark.link, LINK_SHOWN),
                "description_shown": shortened(description, DESCRIPTION_SHOWN) if description else "",
                # Each tag a link to the list of that tag, escaped piece by piece like any template variable.
                "tags": format_html_join(
                    " ",
                    '<a class="tag" href="{}">{}</a>',
                    ((f"{tag_url}{quote(tag)}", tag) for tag in bookmark.tags.split()),
                ),
                "edit_url": f"{edit_url(bookmark.pk)}{next_param}",
                "edit_label": edit_label % {"name": bookmark.name},
                "delete_label": delete_label % {"name": bookmark.name},
                "delete_url": f"{delete_url(bookmark.pk)}{next_param}",
            }
        )
    return rows
