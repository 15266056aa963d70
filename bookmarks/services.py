"""Every change to bookmarks. Bookmarks are private: only their owner changes them, if their role keeps bookmarks;
in the Django admin (`context.via` "admin") admins may fix anyone's."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from access import rights
from access.checks import require, require_right
from accounts.models import User
from audit.context import AuditContext
from bookmarks.links import LINK_MAX_LENGTH, normalize_link, normalize_tags, validate_web_link
from bookmarks.models import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, TAGS_MAX_LENGTH, Bookmark
from bookmarks.netscape import Entry

IMPORT_BATCH_SIZE = 500
CANNOT_CHANGE = gettext_lazy("You cannot change this bookmark.")


def _changeable(context: AuditContext | None):
    if context is not None and context.is_admin:
        return Bookmark.objects.administrable_by
    return Bookmark.objects.visible_to


def check_owner(owner: User) -> None:
    """ValidationError on `owner` unless their role keeps bookmarks (the admin's form calls it too)."""
    if not rights.KEEP_BOOKMARKS.granted_to(owner):
        message = _("%(user)s cannot keep bookmarks: owners are active sidekicks, managers or admins.")
        raise ValidationError({"owner": ValidationError(message, params={"user": owner})})


def _require_keeper(user: User) -> None:
    require_right(rights.KEEP_BOOKMARKS, user, _("Your role cannot keep bookmarks."))


@transaction.atomic
def bookmark_create(
    *,
    owner: User,
    name: str,
    link: str,
    tags: str = "",
    description: str = "",
    actor: User | None = None,
    context: AuditContext | None = None,
) -> Bookmark:
    """A new bookmark of `owner`'s, added by themselves or (`actor`) by an admin in the Django admin."""
    if actor is not None and actor != owner:
        require_right(rights.ADMINISTER, actor, _("Only admins add bookmarks for someone else."))
        check_owner(owner)
    else:
        _require_keeper(owner)
    bookmark = Bookmark(owner=owner, name=name, link=link, tags=normalize_tags(tags), description=description)
    bookmark.full_clean(exclude=["owner", "normalized_link"])
    bookmark.save()
    return bookmark


@transaction.atomic
def bookmark_update(
    *,
    bookmark: Bookmark,
    actor: User,
    name: str,
    link: str,
    tags: str = "",
    description: str = "",
    owner: User | None = None,
    context: AuditContext | None = None,
) -> Bookmark:
    require(_changeable(context), actor, bookmark, CANNOT_CHANGE)
    # Compare with the row, not the instance: a ModelForm has already copied the new owner onto it.
    stored_owner = Bookmark.objects.values_list("owner", flat=True).get(pk=bookmark.pk)
    if owner is not None and owner.pk != stored_owner:
        require_right(rights.ADMINISTER, actor, _("Only admins give a bookmark to someone else."))
        check_owner(owner)
        bookmark.owner = owner
    bookmark.name, bookmark.link, bookmark.tags, bookmark.description = name, link, normalize_tags(tags), description
    bookmark.full_clean(exclude=["owner", "normalized_link"])
    bookmark.save()
    return bookmark


@transaction.atomic
def bookmark_delete(*, bookmark: Bookmark, actor: User, context: AuditContext | None = None) -> None:
    require(_changeable(context), actor, bookmark, CANNOT_CHANGE)
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
