import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from bookmarks.models import Bookmark
from bookmarks.tests.factories import BookmarkFactory

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:bookmarks_bookmark_changelist")
ADD_URL = reverse("admin:bookmarks_bookmark_add")


def change_url(bookmark):
    return reverse("admin:bookmarks_bookmark_change", args=[bookmark.pk])


def test_changelist_answers_200_for_an_admin(admin_client):
    BookmarkFactory(name="Grafana")

    response = admin_client.get(CHANGELIST_URL)

    assert response.status_code == 200
    assert "Grafana" in response.text


def test_add_page_answers_200_for_an_admin(admin_client):
    assert admin_client.get(ADD_URL).status_code == 200


def test_change_page_answers_200_for_an_admin(admin_client):
    response = admin_client.get(change_url(BookmarkFactory(name="Grafana")))

    assert response.status_code == 200
    assert 'value="Grafana"' in response.text


def add_bookmark(client, link, owner):
    return client.post(ADD_URL, {"name": "Docs", "link": link, "owner": owner.pk})


def test_adding_a_web_link_creates_the_bookmark(admin_client):
    owner = UserFactory()

    response = add_bookmark(admin_client, "https://docs.lab.example/start", owner)

    assert response.status_code == 302
    assert Bookmark.objects.get().link == "https://docs.lab.example/start"


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(document.cookie)",
        "javascript://docs.lab.example/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.lab.example/",
        "file:///etc/passwd",
    ],
)
def test_a_link_that_is_not_http_or_https_is_refused_by_the_add_form(admin_client, link):
    response = add_bookmark(admin_client, link, UserFactory())

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["link"] == [
        "Enter a web address that starts with http:// or https://."
    ]
    assert not Bookmark.objects.exists()


def test_a_javascript_link_is_refused_on_the_change_form_too(admin_client):
    bookmark = BookmarkFactory(link="https://docs.lab.example/")

    response = admin_client.post(
        change_url(bookmark), {"name": bookmark.name, "link": "javascript:alert(1)", "owner": bookmark.owner.pk}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["link"]
    assert Bookmark.objects.get(pk=bookmark.pk).link == "https://docs.lab.example/"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("grafana", {"Grafana"}),
        ("wiki.lab", {"Wiki"}),
        ("mgarcia", {"Wiki", "Runbooks"}),
    ],
)
def test_changelist_search_matches_name_link_and_owner_username(admin_client, query, expected):
    mgarcia = UserFactory(username="mgarcia")
    BookmarkFactory(name="Grafana", link="https://metrics.lab.example/")
    BookmarkFactory(name="Wiki", link="https://wiki.lab.example/", owner=mgarcia)
    BookmarkFactory(name="Runbooks", link="https://docs.lab.example/runbooks", owner=mgarcia)

    response = admin_client.get(CHANGELIST_URL, {"q": query})

    assert {bookmark.name for bookmark in response.context["cl"].result_list} == expected


def test_changelist_runs_the_same_number_of_queries_for_n_and_2n_bookmarks(admin_client):
    def changelist_queries():
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(CHANGELIST_URL).status_code == 200
        return len(queries)

    BookmarkFactory.create_batch(3)
    with_n = changelist_queries()
    BookmarkFactory.create_batch(3)
    with_2n = changelist_queries()

    assert with_2n == with_n


@pytest.mark.parametrize("role", [Role.NEW_USER, Role.REGULAR])
def test_a_bookmark_cannot_be_given_to_a_user_whose_role_keeps_no_bookmarks(admin_client, role):
    response = add_bookmark(admin_client, "https://docs.lab.example/", UserFactory(role=role))

    assert response.status_code == 200
    assert "cannot keep bookmarks" in response.text
    assert not Bookmark.objects.exists()
