import pytest
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_schema_is_for_approved_users(client, sidekick):
    assert client.get(reverse("api:schema")).status_code == 401
    client.force_login(sidekick)
    assert client.get(reverse("api:schema"), {"format": "json"}).json()["info"]["title"] == "VM Lab API"


@pytest.mark.parametrize("page", ["api:docs", "api:redoc"])
def test_the_documentation_pages_send_visitors_to_the_login_page_and_newcomers_to_the_waiting_page(client, page):
    assert client.get(reverse(page))["Location"].startswith(reverse("accounts:login"))
    client.force_login(UserFactory(role=Role.NEW_USER))
    assert client.get(reverse(page))["Location"] == reverse("accounts:waiting")


def test_swagger_ui_loads_from_the_site_with_the_portals_policy(client, sidekick):
    client.force_login(sidekick)

    page = client.get(reverse("api:docs"))
    script = client.get(reverse("api:docs"), {"script": ""})

    assert page.status_code == 200
    assert "<style" not in page.text and "<script>" not in page.text
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page.text
    assert "style-src 'self';" in page["Content-Security-Policy"] + ";"
    assert script["Content-Type"].startswith("application/javascript")


def test_redoc_alone_may_use_inline_styles_and_never_inline_scripts(client, sidekick):
    client.force_login(sidekick)

    page = client.get(reverse("api:redoc"))

    policy = page["Content-Security-Policy"]
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in page.text
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "script-src 'self';" in policy
    assert "fonts.googleapis" not in page.text
