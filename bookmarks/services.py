"""Every change to bookmarks. Bookmarks are private: only their owner changes them, if their role keeps bookmarks."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from bookmarks.models import (
    DESCRIPTION_MAX_LENGTH,
    LINK_MAX_LENGTH,
    NAME_MAX_LENGTH,
    TAGS_MAX_LENGTH,
    Bookmark,
    normalize_link,
    normalize_tags,
    validate_web_link,
)
from bookmarks.netscape import Entry

IMPORT_BATCH_SIZE = 500


def _require_keeper(user: User) -> None:
    if not user.can_keep_bookmarks:
        raise PermissionDenied(_("Your role cannot keep bookmarks."))


def _require_own(bookmark: Bookmark, actor: User) -> None:
    if bookmark.pk is None or not Bookmark.objects.visible_to(actor).filter(pk=bookmark.pk).exists():
        raise PermissionDenied(_("You cannot change this bookmark."))


@transaction.atomic
def bookmark_create(*, owner: User, name: str, link: str, tags: str = "", description: str = "") -> Bookmark:
    _require_keeper(owner)
    bookmark = Bookmark(owner=owner, name=name, link=link, tags=normalize_tags(tags), description=description)
    bookmark.full_clean(exclude=["owner", "normalized_link"])
    bookmark.save()
    return bookmark


@transaction.atomic
def bookmark_update(
    *, bookmark: Bookmark, actor: User, name: str, link: str, tags: str = "", description: str = ""
) -> Bookmark:
    _require_own(bookmark, actor)
    bookmark.name, bookmark.link, bookmark.tags, bookmark.description = name, link, normalize_tags(tags), description
    bookmark.full_clean(exclude=["owner", "normalized_link"])
    bookmark.save()
    return bookmark


@transaction.atomic
def bookmark_delete(*, bookmark: Bookmark, actor: User) -> None:
    _require_own(bookmark, actor)
    bookmark.delete()


@dataclass
class ImportResult:
    created: int = 0
    skipped: int = 0  # same normalised link as an existing bookmark or an earlier entry of the file
    rejected: int = 0  # not http/https, not a valid web address, or a link too long to keep


def _valid_link(link: str) -> bool:
    if len(link) > LINK_MAX_LENGTH:
        return False
    try:
        validate_web_link(link)
    except ValidationError:
        return False
    return True


def _clip_tags(tags: list[str]) -> str:
    """As many of `tags` as fit the column, whole: losing a tag beats losing the bookmark."""
    kept = []
    for tag in normalize_tags(" ".join(tags)).split():
        if len(" ".join([*kept, tag])) > TAGS_MAX_LENGTH:
            break
        kept.append(tag)
    return " ".join(kept)


@transaction.atomic
def bookmarks_import(*, owner: User, entries: list[Entry]) -> ImportResult:
    """Add the entries of a bookmark file to `owner`'s bookmarks, all or nothing; links are never fetched.

    Long names and descriptions (page titles can be anything) are shortened; a link is kept whole or rejected.
    """
    _require_keeper(owner)
    result = ImportResult()
    known = set(Bookmark.objects.owned_by(owner).values_list("normalized_link", flat=True))
    new = []
    for entry in entries:
        if not _valid_link(entry.link):
            result.rejected += 1
            continue
        normalized = normalize_link(entry.link)
        if normalized in known:
            result.skipped += 1
            continue
        known.add(normalized)
        bookmark = Bookmark(
            owner=owner,
            link=entry.link,
            name=(entry.name or entry.link)[:NAME_MAX_LENGTH],
            tags=_clip_tags(entry.tags),
            description=entry.description[:DESCRIPTION_MAX_LENGTH],
        )
        bookmark.normalize()
        new.append(bookmark)
    Bookmark.objects.bulk_create(new, batch_size=IMPORT_BATCH_SIZE)
    result.created = len(new)
    return result
