import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from bookmarks.models import Bookmark
from bookmarks.tests.factories import BookmarkFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("bookmarks:list")
CREATE_URL = reverse("bookmarks:create")
PAGES_WITHOUT_PK = ["bookmarks:list", "bookmarks:create", "bookmarks:import", "bookmarks:export"]


@pytest.fixture
def user():
    return UserFactory(role=Role.SIDEKICK)


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


def edit_url(bookmark):
    return reverse("bookmarks:edit", args=[bookmark.pk])


def delete_url(bookmark):
    return reverse("bookmarks:delete", args=[bookmark.pk])


def listed_names(response):
    return [bookmark.name for bookmark in response.context["page_obj"].object_list]


@pytest.mark.parametrize("role", [Role.SIDEKICK, Role.MANAGER, Role.ADMIN])
@pytest.mark.parametrize("name", PAGES_WITHOUT_PK)
def test_roles_that_keep_bookmarks_open_every_bookmark_page(client, role, name):
    client.force_login(UserFactory(role=role))

    assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", PAGES_WITHOUT_PK)
def test_a_regular_user_is_refused_every_bookmark_page(client, name):
    client.force_login(UserFactory(role=Role.REGULAR))

    response = client.get(reverse(name))

    assert response.status_code == 404
    assert "Page not found" in response.text


@pytest.mark.parametrize("url", [edit_url, delete_url])
def test_a_regular_users_old_bookmark_is_404_to_them(client, url):
    regular = UserFactory(role=Role.REGULAR)
    bookmark = BookmarkFactory(owner=regular)
    client.force_login(regular)

    assert client.get(url(bookmark)).status_code == 404


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(LIST_URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize("url", [edit_url, delete_url])
def test_another_users_bookmark_is_404_even_for_an_admin(client, url):
    bookmark = BookmarkFactory(name="Private notes")
    client.force_login(UserFactory(role=Role.ADMIN))

    assert client.get(url(bookmark)).status_code == 404
    assert client.post(url(bookmark), {"name": "Taken", "link": "https://x.example/"}).status_code == 404
    assert Bookmark.objects.get(pk=bookmark.pk).name == "Private notes"


def test_the_list_shows_only_the_users_own_bookmarks_with_safe_new_tab_links(user_client, user):
    BookmarkFactory(owner=user, name="Grafana", link="https://metrics.lab.example/")
    BookmarkFactory(name="Someone else's")

    response = user_client.get(LIST_URL)

    assert listed_names(response) == ["Grafana"]
    link = '<a href="https://metrics.lab.example/" target="_blank" rel="noopener noreferrer">Grafana</a>'
    assert link in response.text
    assert "Someone else" not in response.text


def test_a_bookmark_named_like_a_script_is_shown_escaped(user_client, user):
    BookmarkFactory(owner=user, name="<script>alert(1)</script>", tags="<b>bold</b>")

    response = user_client.get(LIST_URL)

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert "<b>bold</b>" not in response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("grafana", ["Grafana"]),
        ("wiki.lab", ["Wiki"]),
        ("ops", ["Runbooks"]),
        ("incident", ["Runbooks"]),
        ("lab runbooks", ["Runbooks"]),
        ("nothing-like-this", []),
    ],
)
def test_search_matches_every_word_in_name_link_tags_or_description(user_client, user, query, expected):
    BookmarkFactory(owner=user, name="Grafana", link="https://metrics.lab.example/")
    BookmarkFactory(owner=user, name="Wiki", link="https://wiki.lab.example/")
    BookmarkFactory(
        owner=user, name="Runbooks", link="https://docs.lab.example/rb", tags="ops", description="Incident steps"
    )

    assert listed_names(user_client.get(LIST_URL, {"q": query})) == expected


def test_tag_filter_matches_the_exact_tag_only(user_client, user):
    BookmarkFactory(owner=user, name="Docs", tags="docs")
    BookmarkFactory(owner=user, name="Docs and ops", tags="ops docs")
    BookmarkFactory(owner=user, name="Dockerfiles", tags="docsy")
    BookmarkFactory(tags="docs")

    response = user_client.get(LIST_URL, {"tag": "Docs"})

    assert listed_names(response) == ["Docs", "Docs and ops"]
    assert "2 of 3 bookmarks tagged" in response.text


def test_search_and_tag_filter_combine(user_client, user):
    BookmarkFactory(owner=user, name="Ops wiki", tags="ops")
    BookmarkFactory(owner=user, name="Ops board", tags="ops")
    BookmarkFactory(owner=user, name="Team wiki", tags="team")

    assert listed_names(user_client.get(LIST_URL, {"q": "wiki", "tag": "ops"})) == ["Ops wiki"]


def test_the_tag_list_counts_the_users_bookmarks_per_tag(user_client, user):
    BookmarkFactory(owner=user, tags="docs ops")
    BookmarkFactory(owner=user, tags="docs")
    BookmarkFactory(tags="secret-project")

    response = user_client.get(LIST_URL)

    assert response.context["tags"] == [("docs", 2), ("ops", 1)]
    assert response.context["total"] == 2
    assert "secret-project" not in response.text


def test_the_list_pages_by_twenty(user_client, user):
    BookmarkFactory.create_batch(21, owner=user)

    first, second = user_client.get(LIST_URL), user_client.get(LIST_URL, {"page": 2})

    assert len(listed_names(first)) == 20
    assert len(listed_names(second)) == 1
    assert "Page 1 of 2" in first.text


def test_the_list_runs_the_same_number_of_queries_for_n_and_2n_bookmarks(user_client, user):
    def list_queries():
        with CaptureQueriesContext(connection) as queries:
            assert user_client.get(LIST_URL, {"q": "bookmark"}).status_code == 200
        return len(queries)

    BookmarkFactory.create_batch(5, owner=user, tags="docs ops")
    with_n = list_queries()
    BookmarkFactory.create_batch(5, owner=user, tags="wiki")
    with_2n = list_queries()

    assert with_2n == with_n


def test_creating_a_bookmark_saves_it_with_normalized_tags_and_says_so(user_client, user):
    response = user_client.post(
        CREATE_URL,
        {"name": "Wiki", "link": "https://wiki.lab.example/", "tags": "Docs, team docs", "description": "Team\r\nwiki"},
        follow=True,
    )

    bookmark = Bookmark.objects.get()
    assert (bookmark.owner, bookmark.tags, bookmark.description) == (user, "docs team", "Team\nwiki")
    assert "Bookmark “Wiki” added." in response.text
    assert response.redirect_chain == [(LIST_URL, 302)]


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "ftp://f.example/"]
)
def test_a_link_that_is_not_http_or_https_is_refused_with_a_clear_message(user_client, link):
    response = user_client.post(CREATE_URL, {"name": "Bad", "link": link})

    assert response.status_code == 200
    assert "Enter a web address that starts with http:// or https://." in response.text
    assert not Bookmark.objects.exists()


def test_a_duplicate_link_is_not_saved_until_save_anyway_is_ticked(user_client, user):
    BookmarkFactory(owner=user, name="Team wiki", link="https://wiki.lab.example/start")
    data = {"name": "Wiki again", "link": "HTTPS://WIKI.lab.example/start/#top"}

    warned = user_client.post(CREATE_URL, data)

    assert warned.status_code == 200
    assert "You already have a bookmark for this address" in warned.text
    assert "Team wiki" in warned.text
    assert 'type="checkbox" name="save_anyway"' in warned.text
    assert Bookmark.objects.count() == 1

    saved = user_client.post(CREATE_URL, {**data, "save_anyway": "on"})

    assert saved.status_code == 302
    assert Bookmark.objects.count() == 2


def test_another_users_bookmark_with_the_same_link_is_no_duplicate(user_client):
    BookmarkFactory(link="https://wiki.lab.example/")

    response = user_client.post(CREATE_URL, {"name": "Wiki", "link": "https://wiki.lab.example/"})

    assert response.status_code == 302
    assert Bookmark.objects.count() == 2


def test_the_new_bookmark_form_hides_save_anyway_when_there_is_no_duplicate(user_client):
    assert 'type="checkbox" name="save_anyway"' not in user_client.get(CREATE_URL).text


def test_editing_a_bookmark_saves_it_and_returns_to_next(user_client, user):
    bookmark = BookmarkFactory(owner=user, name="Old", link="https://old.lab.example/")

    response = user_client.post(
        edit_url(bookmark), {"name": "New", "link": "https://new.lab.example/", "tags": "x", "next": "/?bookmarks_q=n"}
    )

    bookmark.refresh_from_db()
    assert (bookmark.name, bookmark.normalized_link, bookmark.tags) == ("New", "https://new.lab.example", "x")
    assert response.url == "/?bookmarks_q=n"


def test_editing_keeps_its_own_link_without_a_duplicate_warning(user_client, user):
    bookmark = BookmarkFactory(owner=user, link="https://wiki.lab.example/")

    response = user_client.post(edit_url(bookmark), {"name": "Renamed", "link": bookmark.link})

    assert response.status_code == 302
    assert Bookmark.objects.get().name == "Renamed"


def test_edit_refuses_a_next_that_leaves_the_site(user_client, user):
    bookmark = BookmarkFactory(owner=user)

    response = user_client.post(
        edit_url(bookmark), {"name": "x", "link": "https://x.lab.example/", "next": "https://evil.example/"}
    )

    assert response.url == LIST_URL


def test_delete_asks_first_then_deletes_on_post(user_client, user):
    bookmark = BookmarkFactory(owner=user, name="Old docs")

    confirmation = user_client.get(delete_url(bookmark))

    assert "Delete this bookmark?" in confirmation.text
    assert Bookmark.objects.exists()

    response = user_client.post(delete_url(bookmark), follow=True)

    assert not Bookmark.objects.exists()
    assert "Bookmark “Old docs” deleted." in response.text
