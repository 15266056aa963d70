"""The requests linkding's browser extension makes (src/linkding.js, popup-form.js, background.js), replayed with
`Authorization: Token …`, and the answers read the way the extension reads them."""

from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from access.roles import Role
from accounts.tests.factories import UserFactory
from api.tests.conftest import token_for
from bookmarks.models import Bookmark
from bookmarks.tests.factories import BookmarkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def extension(sidekick):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(sidekick)}")
    return client


def test_the_connection_test_finds_results(extension):
    body = extension.get("/api/bookmarks/?limit=1").json()

    assert {"count", "next", "previous", "results"} <= set(body)


def test_a_new_page_is_checked_then_saved_with_its_tags(extension, sidekick):
    url = "https://wiki.lab.example/howto?x=1"
    check = extension.get(f"/api/bookmarks/check/?url={quote(url, safe='')}").json()
    assert check["bookmark"] is None
    assert check["metadata"]["title"] is None  # VM Lab never fetches the page
    assert check["auto_tags"] == []

    saved = extension.post(
        "/api/bookmarks/?disable_scraping",
        {"url": url, "title": "How-to", "description": "", "notes": "", "tag_names": ["wiki", "Lab"]}
        | {"unread": False, "shared": False},
        format="json",
    )

    assert saved.status_code == 201
    assert saved.json()["tag_names"] == ["lab", "wiki"]
    bookmark = Bookmark.objects.get(owner=sidekick)
    assert (bookmark.name, bookmark.link, bookmark.tags) == ("How-to", url, "lab wiki")


def test_a_saved_page_is_found_by_check_and_saving_again_updates_it(extension, sidekick):
    bookmark = BookmarkFactory(owner=sidekick, link="https://wiki.lab.example/page", tags="old")

    check = extension.get("/api/bookmarks/check/?url=" + quote("https://WIKI.lab.example/page/", safe="")).json()
    again = extension.post(
        "/api/bookmarks/?disable_scraping&disable_html_snapshot",
        {"url": "https://wiki.lab.example/page", "title": "Page", "tag_names": ["new"]},
        format="json",
    )

    assert check["bookmark"]["id"] == bookmark.pk
    assert {"title", "tag_names", "description", "notes", "unread", "shared"} <= set(check["bookmark"])
    assert again.status_code == 201
    assert again.json()["id"] == bookmark.pk
    assert Bookmark.objects.get().tags == "new"


def test_the_tag_list_and_the_omnibox_search(extension, sidekick):
    BookmarkFactory(owner=sidekick, name="Grafana", link="https://grafana.lab.example/", tags="monitoring lab")
    BookmarkFactory(owner=sidekick, name="Wiki", link="https://wiki.lab.example/", tags="docs lab")
    BookmarkFactory(owner=UserFactory(role=Role.SIDEKICK), name="Grafana of others", tags="secret-tag")

    tags = extension.get("/api/tags/?limit=5000").json()["results"]
    found = extension.get("/api/bookmarks/?q=grafana&limit=5").json()["results"]
    by_tag = extension.get("/api/bookmarks/?q=%23docs").json()["results"]

    assert [tag["name"] for tag in tags] == ["docs", "lab", "monitoring"]
    assert extension.get(f"/api/tags/{tags[0]['id']}/").json()["name"] == "docs"
    assert [(bookmark["url"], bookmark["title"]) for bookmark in found] == [("https://grafana.lab.example/", "Grafana")]
    assert [bookmark["title"] for bookmark in by_tag] == ["Wiki"]


def test_a_bookmark_is_read_and_deleted_and_the_profile_says_sharing_is_off(extension, sidekick):
    bookmark = BookmarkFactory(owner=sidekick)

    assert extension.get(f"/api/bookmarks/{bookmark.pk}/").json()["url"] == bookmark.link
    assert extension.get("/api/user/profile/").json()["enable_sharing"] is False
    assert extension.delete(f"/api/bookmarks/{bookmark.pk}/").status_code == 204
    assert not Bookmark.objects.exists()


def test_a_validation_error_is_a_400_the_extension_can_show(extension):
    response = extension.post("/api/bookmarks/", {"url": "javascript:alert(1)"}, format="json")

    assert response.status_code == 400
    assert "link" in response.json()["error"]["fields"]


def test_the_bearer_header_is_not_linkdings(sidekick):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(sidekick)}")

    assert client.get("/api/bookmarks/").status_code == 401
