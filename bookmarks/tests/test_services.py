import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from access.roles import Role
from accounts.tests.factories import UserFactory
from bookmarks import services
from bookmarks.models import Bookmark
from bookmarks.netscape import Entry
from bookmarks.tests.factories import BookmarkFactory

pytestmark = pytest.mark.django_db


def test_bookmark_create_refuses_a_role_that_keeps_no_bookmarks():
    with pytest.raises(PermissionDenied):
        services.bookmark_create(owner=UserFactory(role=Role.REGULAR), name="x", link="https://lab.example/")

    assert not Bookmark.objects.exists()


def test_bookmark_create_refuses_a_javascript_link():
    with pytest.raises(ValidationError) as error:
        services.bookmark_create(owner=UserFactory(), name="x", link="javascript:alert(1)")

    assert "link" in error.value.message_dict
    assert not Bookmark.objects.exists()


def test_bookmark_update_and_delete_refuse_someone_elses_bookmark():
    bookmark = BookmarkFactory(name="Theirs")
    intruder = UserFactory(role=Role.ADMIN)

    with pytest.raises(PermissionDenied):
        services.bookmark_update(bookmark=bookmark, actor=intruder, name="Mine now", link=bookmark.link)
    with pytest.raises(PermissionDenied):
        services.bookmark_delete(bookmark=bookmark, actor=intruder)

    assert Bookmark.objects.get().name == "Theirs"


def test_bookmarks_import_keeps_only_as_many_whole_tags_as_fit():
    owner = UserFactory()
    tags = [f"tag{n:03}" for n in range(100)]

    services.bookmarks_import(owner=owner, entries=[Entry(link="https://lab.example/", name="x", tags=tags)])

    stored = Bookmark.objects.get().tag_list
    assert 0 < len(stored) < 100
    assert stored == tags[: len(stored)]


def test_a_bookmark_changes_owner_only_by_an_admin_even_when_the_instance_already_carries_the_new_owner():
    owner, other = UserFactory(role=Role.SIDEKICK), UserFactory(role=Role.SIDEKICK)
    bookmark = BookmarkFactory(owner=owner)
    bookmark.owner = other  # as a form bound to the bookmark would have done

    with pytest.raises(PermissionDenied):
        services.bookmark_update(bookmark=bookmark, actor=owner, owner=other, name="x", link="https://lab.example/")

    assert Bookmark.objects.get(pk=bookmark.pk).owner == owner
