import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from access.roles import Role
from accounts.tests.factories import UserFactory
from vmlab.core.middleware import request_body_limit
from vmlab.urls import urlpatterns as portal_urlpatterns

pytestmark = pytest.mark.django_db


def broken_view(request):
    raise RuntimeError("pw-in-a-traceback-Secret-42")


@request_body_limit(lambda: 100, granted=lambda request: True)
def small_body_view(request):
    return HttpResponse("read")


MiB = 1024 * 1024


@request_body_limit(lambda: 2 * MiB, granted=lambda request, box: box == "open")
def large_body_view(request, box):
    return HttpResponse(f"read {len(request.body)}")


urlpatterns = [
    *portal_urlpatterns,
    path("broken/", broken_view),
    path("small/", small_body_view),
    path("large/<str:box>/", large_body_view),
]


@pytest.mark.urls("vmlab.tests.test_error_pages")
def test_a_server_error_shows_the_friendly_500_page_without_details(settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(role=Role.SIDEKICK))

    response = client.get("/broken/")

    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "pw-in-a-traceback-Secret-42" not in response.text
    assert "Traceback" not in response.text


def test_a_form_posted_without_its_csrf_token_gets_the_friendly_403_page(db):
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(role=Role.SIDEKICK))

    response = client.post("/machines/new/", {"name": "x"})

    assert response.status_code == 403
    assert "This form has expired" in response.text


def test_a_request_body_over_the_limit_is_refused_before_it_is_read(client, settings):
    settings.MAX_REQUEST_BODY = 1024 * 1024
    client.force_login(UserFactory(role=Role.SIDEKICK))
    upload = SimpleUploadedFile("bookmarks.html", b"x" * (1024 * 1024 + 1), content_type="text/html")

    response = client.post("/bookmarks/import/", {"file": upload})

    assert response.status_code == 413
    assert "at most 1\xa0MiB" in response.text
    assert "Nothing was saved" in response.text


def test_a_body_over_the_limit_is_refused_even_where_no_page_is(client):
    response = client.post("/no-such-page/", "x", content_type="text/plain", CONTENT_LENGTH=str(10**9))

    assert response.status_code == 413


@pytest.mark.urls("vmlab.tests.test_error_pages")
def test_a_view_may_set_a_smaller_limit_of_its_own(client):
    client.force_login(UserFactory(role=Role.SIDEKICK))

    assert client.post("/small/", "x" * 100, content_type="text/plain").status_code == 200
    assert client.post("/small/", "x" * 101, content_type="text/plain").status_code == 413


@pytest.mark.urls("vmlab.tests.test_error_pages")
def test_a_larger_limit_holds_only_for_the_requests_it_is_granted_to(client, settings):
    settings.MAX_REQUEST_BODY = 1 * MiB
    client.force_login(UserFactory(role=Role.SIDEKICK))

    def post(box, size):
        return client.post(f"/large/{box}/", "x" * size, content_type="text/plain")

    assert post("open", 2 * MiB).text == f"read {2 * MiB}"
    assert post("open", 2 * MiB + 1).status_code == 413
    assert post("shut", 1 * MiB).text == f"read {1 * MiB}"
    refused = post("shut", 1 * MiB + 1)
    assert refused.status_code == 413
    assert "at most 1\xa0MiB" in refused.text
