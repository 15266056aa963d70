"""The bookmark table's rows (bookmarks.tables.bookmark_rows, templates/bookmarks/includes/bookmark_table.html)."""

from urllib.parse import quote

import pytest
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from bookmarks.models import Bookmark
from bookmarks.tables import bookmark_rows
from bookmarks.tests.factories import BookmarkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client):
    user = UserFactory(role=Role.SIDEKICK)
    client.force_login(user)
    return user


def test_edit_and_delete_links_name_the_bookmark_and_come_back_to_the_page_they_were_on(owner):
    bookmark = BookmarkFactory(owner=owner)
    back = "/bookmarks/?q=a b&tag=x#frag"

    (row,) = bookmark_rows(Bookmark.objects.for_table(), back=back)

    assert row["edit_url"] == f"{reverse('bookmarks:edit', args=[bookmark.pk])}?next={quote(back)}"
    assert row["delete_url"] == f"{reverse('bookmarks:delete', args=[bookmark.pk])}?next={quote(back)}"


def test_each_tag_links_to_the_list_of_that_tag(owner):
    BookmarkFactory(owner=owner, tags="docs c++ r&d")

    (row,) = bookmark_rows(Bookmark.objects.for_table(), back="/")

    list_url = reverse("bookmarks:list")
    assert row["tags"] == (
        f'<a class="tag" href="{list_url}?tag=c%2B%2B">c++</a> '
        f'<a class="tag" href="{list_url}?tag=docs">docs</a> '
        f'<a class="tag" href="{list_url}?tag=r%26d">r&amp;d</a>'
    )


def test_long_links_and_descriptions_are_shortened_and_an_empty_description_shows_nothing(owner):
    BookmarkFactory(owner=owner, name="a", link="https://docs.lab.example/" + "x" * 100, description="d" * 200)
    BookmarkFactory(owner=owner, name="b", description="")

    long, short = bookmark_rows(Bookmark.objects.for_table(), back="/")

    assert len(long["link_shown"]) == 80 and long["link_shown"].endswith("…")
    assert len(long["description_shown"]) == 160
    assert short["description_shown"] == ""


def test_the_list_page_links_each_row_back_to_itself_with_its_search(client, owner):
    bookmark = BookmarkFactory(owner=owner, name="Wiki page", tags="wiki")

    response = client.get(reverse("bookmarks:list"), {"q": "wiki", "tag": "wiki"})

    edit = reverse("bookmarks:edit", args=[bookmark.pk])
    assert f'href="{edit}?next=/bookmarks/%3Fq%3Dwiki%26tag%3Dwiki"' in response.text


def test_markup_in_a_tag_is_escaped_in_the_text_and_encoded_in_the_link(client, owner):
    BookmarkFactory(owner=owner, tags='<img src=x onerror="1">')

    text = client.get(reverse("bookmarks:list")).text

    assert "<img" not in text
    assert "&lt;img" in text
    assert "?tag=%3Cimg" in text
