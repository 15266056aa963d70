import pytest
from django.templatetags.static import static
from django.urls import reverse


def test_favicon_ico_leads_anyone_to_the_sites_icon(client):
    response = client.get("/favicon.ico")

    assert (response.status_code, response["Location"]) == (302, static("img/favicon.svg"))


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["admin:index", "admin:login"])
def test_the_django_admin_pages_name_the_sites_icon(admin_client, url):
    page = admin_client.get(reverse(url), follow=True).text

    assert f'<link rel="icon" href="{static("img/favicon.svg")}"' in page
