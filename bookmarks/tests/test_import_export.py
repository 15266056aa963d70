import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from bookmarks.forms import IMPORT_MAX_BYTES
from bookmarks.models import Bookmark
from bookmarks.tests import samples
from bookmarks.tests.factories import BookmarkFactory

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("bookmarks:import")
EXPORT_URL = reverse("bookmarks:export")


@pytest.fixture
def user():
    return UserFactory(role=Role.SIDEKICK)


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


def upload(client, content, name="bookmarks.html"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(IMPORT_URL, {"file": SimpleUploadedFile(name, data, content_type="text/html")}, follow=True)


def saved(user):
    return {(b.name, b.link, b.tags, b.description) for b in Bookmark.objects.owned_by(user)}


def test_import_reports_created_skipped_and_rejected_counts(user_client, user):
    BookmarkFactory(owner=user, name="Already saved", link="https://existing.lab.example")

    response = upload(user_client, samples.MIXED)

    assert "Import finished: 2 created, 2 skipped" in response.text
    assert "2 rejected" in response.text
    assert {b.link for b in Bookmark.objects.owned_by(user)} == {
        "https://existing.lab.example",
        "https://docs.lab.example/start",
        "https://status.lab.example/",
    }


def test_import_of_a_chrome_file_keeps_folders_as_tags(user_client, user):
    response = upload(user_client, samples.CHROME)

    assert "1 rejected" in response.text
    assert saved(user) == {
        ("Grafana", "https://grafana.lab.example/", "", ""),
        ("Runbooks & how-tos", "https://wiki.lab.example/runbooks?team=ops&page=2", "lab-docs", ""),
    }


def test_import_of_a_firefox_file_keeps_tags_and_descriptions(user_client, user):
    upload(user_client, samples.FIREFOX)

    assert saved(user) == {
        ("Getting Started", "https://www.mozilla.org/en-US/firefox/central/", "", ""),
        ("CPU dashboard", "https://metrics.lab.example:443/d/cpu#panel-2", "grafana monitoring", "Per-VM CPU <graphs>"),
    }


def test_import_rejects_a_link_too_long_to_keep_and_shortens_a_long_name(user_client, user):
    long_link = "https://lab.example/" + "a" * 2000
    content = f'<DT><A HREF="{long_link}">Long</A><DT><A HREF="https://lab.example/">{"n" * 300}</A>'

    response = upload(user_client, content)

    assert "1 created, 0 skipped (already saved, or twice in the file), 1 rejected" in response.text
    assert Bookmark.objects.get().name == "n" * 200


def test_an_imported_entry_without_a_name_is_named_after_its_link(user_client, user):
    upload(user_client, '<DT><A HREF="https://lab.example/x"></A>')

    assert Bookmark.objects.get().name == "https://lab.example/x"


def test_import_refuses_a_file_larger_than_two_mib(user_client):
    content = "<!-- padding -->" * (IMPORT_MAX_BYTES // 16) + '<A HREF="https://lab.example/">x</A>'

    response = upload(user_client, content)

    assert "bookmark files can be at most 2\xa0MiB" in response.text
    assert not Bookmark.objects.exists()


def test_import_refuses_a_file_that_is_not_utf8(user_client):
    response = upload(user_client, '<A HREF="https://lab.example/">Caf\xe9</A>'.encode("latin-1"))

    assert "This file is not UTF-8 text." in response.text
    assert not Bookmark.objects.exists()


def test_import_says_so_when_the_file_has_no_links(user_client):
    response = upload(user_client, "<html><body>Nothing here</body></html>")

    assert "No bookmarks found in this file." in response.text


def test_export_downloads_a_netscape_file_of_the_users_bookmarks_only(user_client, user):
    BookmarkFactory(owner=user, name="Mine")
    BookmarkFactory(name="Someone else's")

    response = user_client.get(EXPORT_URL)

    assert response["Content-Disposition"] == 'attachment; filename="bookmarks.html"'
    assert response.content.decode().startswith("<!DOCTYPE NETSCAPE-Bookmark-file-1>")
    assert ">Mine</A>" in response.content.decode()
    assert "Someone else" not in response.content.decode()


def test_importing_an_export_into_a_fresh_account_recreates_the_same_bookmarks(user_client, user, client):
    BookmarkFactory(owner=user, name='Tricky <name> & "quotes"', link="https://lab.example/?a=1&b=<2>", tags="x y")
    BookmarkFactory(owner=user, name="Notes", link="http://10.0.0.5:8080/", description="Two\nlines & <more>")
    BookmarkFactory(owner=user, name="Plain", link="https://plain.lab.example/", tags="", description="")
    exported = user_client.get(EXPORT_URL).content

    fresh = UserFactory(role=Role.SIDEKICK)
    client.force_login(fresh)
    response = upload(client, exported)

    assert "3 created, 0 skipped" in response.text
    assert saved(fresh) == saved(user)
