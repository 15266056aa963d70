import pytest

from bookmarks.models import Bookmark, normalize_link, normalize_tags
from bookmarks.tests.factories import BookmarkFactory


@pytest.mark.parametrize(
    ("link", "normalized"),
    [
        ("HTTPS://Docs.Lab.Example/Guide/", "https://docs.lab.example/Guide"),
        ("https://docs.lab.example:443/", "https://docs.lab.example"),
        ("http://docs.lab.example:80/a", "http://docs.lab.example/a"),
        ("http://docs.lab.example:8080/a", "http://docs.lab.example:8080/a"),
        ("https://docs.lab.example:80/a", "https://docs.lab.example:80/a"),
        ("https://docs.lab.example/a?page=2#section", "https://docs.lab.example/a?page=2"),
        ("https://[2001:DB8::1]:8443/", "https://[2001:db8::1]:8443"),
        ("https://User:Secret@Docs.Lab.Example/", "https://User:Secret@docs.lab.example"),
    ],
)
def test_normalize_link_ignores_case_of_host_default_port_fragment_and_trailing_slash(link, normalized):
    assert normalize_link(link) == normalized


def test_normalize_link_keeps_the_query_because_it_can_select_another_page():
    assert normalize_link("https://lab.example/?id=1") != normalize_link("https://lab.example/?id=2")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Docs, monitoring", "docs monitoring"),
        ("b a,a  B", "a b"),
        (" , ,", ""),
        ("", ""),
    ],
)
def test_tags_are_stored_lowercase_unique_sorted_and_space_separated(typed, stored):
    assert normalize_tags(typed) == stored


@pytest.mark.django_db
def test_saving_a_bookmark_stores_its_normalized_link_and_tags():
    bookmark = BookmarkFactory(link="HTTPS://Wiki.Lab.Example/Start/#top", tags="Wiki,docs wiki")

    stored = Bookmark.objects.get(pk=bookmark.pk)

    assert stored.normalized_link == "https://wiki.lab.example/Start"
    assert stored.tags == "docs wiki"
    assert stored.tag_list == ["docs", "wiki"]


@pytest.mark.django_db
def test_saving_only_the_link_updates_the_normalized_link_too():
    bookmark = BookmarkFactory(link="https://old.lab.example/")
    bookmark.link = "https://NEW.lab.example/"

    bookmark.save(update_fields=["link"])

    assert Bookmark.objects.get(pk=bookmark.pk).normalized_link == "https://new.lab.example"
