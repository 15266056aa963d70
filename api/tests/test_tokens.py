import hashlib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from api.tests.conftest import bearer, token_for
from audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db


def test_a_token_created_in_a_session_is_shown_once_and_only_its_sha256_is_kept(sidekick):
    browser = APIClient(enforce_csrf_checks=False)
    browser.force_login(sidekick)

    response = browser.post("/api/v1/tokens/", {"name": "CI", "scope": "write"}, format="json")

    plaintext = response.json()["token"]
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    assert plaintext.startswith("vmlab_")
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in repr(ApiToken.objects.values())
    assert (token.expires_at - timezone.now()).days in (89, 90)
    assert "token" not in browser.get(f"/api/v1/tokens/{token.pk}/").json()
    assert AuditEvent.objects.filter(action=Action.TOKEN_CREATE, actor=sidekick).exists()


def test_a_token_cannot_make_another_token(sidekick):
    response = bearer(sidekick).post("/api/v1/tokens/", {"name": "more"}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "session_only"


def test_the_expiry_is_at_most_api_token_max_days(sidekick, settings):
    browser = APIClient()
    browser.force_login(sidekick)

    response = browser.post("/api/v1/tokens/", {"name": "forever", "expires_in_days": 100000}, format="json")

    assert response.status_code == 400
    assert "expires_in_days" in response.json()["error"]["fields"]


def test_use_from_a_new_address_is_audited_once_per_change(sidekick):
    client = bearer(sidekick)

    client.get("/api/v1/me/", REMOTE_ADDR="127.0.0.2")
    client.get("/api/v1/me/", REMOTE_ADDR="127.0.0.2")
    client.get("/api/v1/me/", REMOTE_ADDR="127.0.0.3")

    events = AuditEvent.objects.filter(action=Action.TOKEN_NEW_IP).order_by("pk")
    assert [event.ip for event in events] == ["127.0.0.2", "127.0.0.3"]
    assert ApiToken.objects.get().last_used_ip == "127.0.0.3"


def test_a_revoked_token_opens_nothing(sidekick):
    client = bearer(sidekick)
    token = ApiToken.objects.get()

    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    response = client.get("/api/v1/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert AuditEvent.objects.filter(action=Action.TOKEN_REVOKE).count() == 1


def test_a_disabled_users_token_stops_working_at_once(sidekick, manager):
    client = bearer(sidekick)
    assert client.get("/api/v1/vms/").status_code == 200

    bearer(manager).post(f"/api/v1/users/{sidekick.pk}/disable/")

    assert client.get("/api/v1/vms/").status_code == 401


def test_an_expired_token_opens_nothing(sidekick):
    client = bearer(sidekick)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    assert client.get("/api/v1/me/").status_code == 401


def test_a_read_token_may_only_read(sidekick):
    client = bearer(sidekick, scope="read")

    response = client.post("/api/v1/bookmarks/", {"name": "x", "link": "https://x.lab.example/"}, format="json")

    assert client.get("/api/v1/bookmarks/").status_code == 200
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "read_only_token"


def test_each_token_gets_api_rate_limit_requests_a_minute(sidekick, settings):
    settings.API_RATE_LIMIT = 2
    client, other = bearer(sidekick), bearer(sidekick)

    statuses = [client.get("/api/v1/me/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert 1 <= int(client.get("/api/v1/me/")["Retry-After"]) <= 60
    assert other.get("/api/v1/me/").status_code == 200


def test_the_profile_page_creates_shows_once_lists_and_revokes_tokens(client, sidekick):
    client.force_login(sidekick)

    created = client.post(reverse("accounts:token_create"), {"name": "laptop", "scope": "read", "expires_in_days": 7})
    plaintext = created.context["plaintext"]
    bearer(token=plaintext).get("/api/v1/me/", REMOTE_ADDR="127.0.0.9")
    page = client.get(reverse("accounts:profile"))
    token = ApiToken.objects.get()
    client.post(reverse("accounts:token_revoke", args=[token.pk]))

    assert created["Cache-Control"] == "no-store"
    assert plaintext in created.text
    assert plaintext not in page.text
    assert "laptop" in page.text and "127.0.0.9" in page.text
    assert ApiToken.objects.get().revoked


def test_admins_list_tokens_without_their_hash_and_revoke_them_in_the_django_admin(admin_client, sidekick):
    token_for(sidekick)
    token = ApiToken.objects.get()

    listing = admin_client.get(reverse("admin:accounts_apitoken_changelist"))
    admin_client.post(
        reverse("admin:accounts_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )

    assert listing.status_code == 200
    assert token.digest not in listing.text
    assert ApiToken.objects.get().revoked
    assert AuditEvent.objects.get(action=Action.TOKEN_REVOKE).details["via"] == "admin"
