import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from access.roles import Role
from accounts.tests.factories import UserFactory
from bookmarks.models import Bookmark
from bookmarks.tests.factories import BookmarkFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("link", ["https://docs.lab.example/", "http://10.0.0.5:8080/grafana?x=1#top"])
def test_http_and_https_links_are_accepted(link):
    BookmarkFactory.build(owner=UserFactory(), link=link).full_clean()


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.lab.example/",
        "file:///etc/passwd",
        "vbscript:msgbox",
        "docs.lab.example",
    ],
)
def test_other_schemes_are_rejected_with_a_clear_message(link):
    bookmark = BookmarkFactory.build(owner=UserFactory(), link=link)

    with pytest.raises(ValidationError) as error:
        bookmark.full_clean()

    assert error.value.message_dict["link"] == ["Enter a web address that starts with http:// or https://."]


def test_form_field_assumes_https_for_a_bare_domain():
    form_field = Bookmark._meta.get_field("link").formfield()

    assert form_field.clean("docs.lab.example") == "https://docs.lab.example"


@pytest.mark.parametrize(
    ("role", "sees_own"),
    [(Role.NEW_USER, False), (Role.REGULAR, False), (Role.SIDEKICK, True), (Role.MANAGER, True), (Role.ADMIN, True)],
)
def test_visible_to_shows_own_bookmarks_to_roles_that_keep_bookmarks(role, sees_own):
    viewer = UserFactory(role=role)
    own = BookmarkFactory(owner=viewer)
    BookmarkFactory(owner=UserFactory(role=Role.ADMIN))

    assert list(Bookmark.objects.visible_to(viewer)) == ([own] if sees_own else [])


def test_bookmarks_are_private_even_for_admins():
    admin = UserFactory(role=Role.ADMIN)
    BookmarkFactory(owner=UserFactory())

    assert not Bookmark.objects.visible_to(admin).exists()


def test_inactive_and_anonymous_users_see_no_bookmarks():
    disabled = UserFactory(role=Role.ADMIN, is_active=False)
    BookmarkFactory(owner=disabled)

    assert not Bookmark.objects.visible_to(disabled).exists()
    assert not Bookmark.objects.visible_to(AnonymousUser()).exists()


def test_owned_by_and_exclude_owner_accept_a_user_or_a_username():
    jsmith = UserFactory(username="jsmith")
    own, other = BookmarkFactory(owner=jsmith), BookmarkFactory()

    assert list(Bookmark.objects.owned_by("jsmith")) == [own]
    assert list(Bookmark.objects.owned_by(jsmith)) == [own]
    assert list(Bookmark.objects.exclude_owner("jsmith")) == [other]


def test_deleting_the_owner_deletes_their_bookmarks():
    bookmark = BookmarkFactory()

    bookmark.owner.delete()

    assert not Bookmark.objects.filter(pk=bookmark.pk).exists()
