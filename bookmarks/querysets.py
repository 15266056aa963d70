from collections import Counter
from itertools import chain

from django.db.models import Q

from access import rights
from bookmarks.links import normalize_link
from vmlab.core.querysets import OwnedQuerySet
from vmlab.core.search import search_filter

SEARCH_FIELDS = ("name", "link", "tags", "description")
# What a bookmark table shows (bookmarks.tables.bookmark_rows, templates/bookmarks/includes/bookmark_table.html).
TABLE_FIELDS = ("pk", "name", "link", "description", "tags")


class BookmarkQuerySet(OwnedQuerySet):
    def visible_to(self, user):
        """Bookmarks are private: a user sees their own, once their role may keep bookmarks."""
        if not rights.KEEP_BOOKMARKS.granted_to(user):
            return self.none()
        return self.owned_by(user)

    def administrable_by(self, user):
        """Bookmarks `user` may change in the Django admin: everyone's, for an admin."""
        return self.all() if rights.ADMINISTER.granted_to(user) else self.none()

    def search(self, query: str):
        """Every word of `query` in the name, link, tags or description."""
        return self.filter(search_filter(query, SEARCH_FIELDS))

    def tagged(self, tag: str):
        """Bookmarks carrying exactly `tag` (not a tag that merely contains it)."""
        tag = tag.strip().lower()
        if len(tag.split()) != 1:
            return self.none()
        return self.filter(
            Q(tags=tag) | Q(tags__startswith=f"{tag} ") | Q(tags__endswith=f" {tag}") | Q(tags__contains=f" {tag} ")
        )

    def same_link_as(self, link: str):
        """Bookmarks whose link is `link` once normalised: the duplicates a user is warned about."""
        return self.filter(normalized_link=normalize_link(link))

    def tag_counts(self) -> tuple[int, list[tuple[str, int]]]:
        """How many bookmarks there are, and each tag with its number of bookmarks, by tag: one query."""
        tag_strings = list(self.order_by().values_list("tags", flat=True))
        counts = Counter(chain.from_iterable(map(str.split, tag_strings)))
        return len(tag_strings), sorted(counts.items())

    def for_table(self):
        """What bookmark tables show and nothing more, one named tuple per bookmark (TABLE_FIELDS)."""
        return self.values_list(*TABLE_FIELDS, named=True)
