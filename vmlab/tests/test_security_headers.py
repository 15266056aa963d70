"""What a browser gets from a production deployment: HTTPS only, a strict Content-Security-Policy that the
pages really keep (no inline script or style), and sessions that end when the browser closes."""

import re

import pytest
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.two_factor_helpers import authenticator_for, stored_passkey_for
from bookmarks.tests.factories import BookmarkFactory
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

# A <script type="application/json"> is a data block (django-otp-webauthn's configuration), never executed.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.ALLOWED_HOSTS = ["vmlab.example"]
    return settings


def csp_directives(response):
    parts = (part.strip().split(None, 1) for part in response.headers["Content-Security-Policy"].split(";"))
    return dict(parts)


def test_every_response_carries_a_content_security_policy_without_inline_scripts(client):
    response = client.get(reverse("accounts:login"))

    directives = csp_directives(response)
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]


def test_error_pages_and_redirects_carry_the_policy_too(client):
    too_large = client.post(reverse("accounts:login"), "x", content_type="text/plain", CONTENT_LENGTH=str(10**9))

    assert too_large.status_code == 413
    assert "Content-Security-Policy" in too_large.headers
    assert "Content-Security-Policy" in client.get("/no-such-page/").headers
    assert "Content-Security-Policy" in client.get(reverse("dashboard")).headers


def test_https_requests_get_the_hardening_headers(client, production):
    response = client.get(reverse("accounts:login"), secure=True, HTTP_HOST="vmlab.example")

    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_plain_http_is_redirected_to_https(client, production):
    response = client.get(reverse("accounts:login"), HTTP_HOST="vmlab.example")

    assert response.status_code == 301
    assert response.url == "https://vmlab.example" + reverse("accounts:login")


def test_behind_a_proxy_its_https_header_is_trusted_only_when_configured(client, production):
    forwarded = {"HTTP_HOST": "vmlab.example", "HTTP_X_FORWARDED_PROTO": "https"}
    assert client.get(reverse("accounts:login"), **forwarded).status_code == 301

    production.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    assert client.get(reverse("accounts:login"), **forwarded).status_code == 200


def test_session_and_csrf_cookies_are_secure_and_the_session_one_is_http_only(client, production):
    UserFactory(username="alice")
    client.get(reverse("accounts:login"), secure=True, HTTP_HOST="vmlab.example")
    response = client.post(
        reverse("accounts:login"),
        {"username": "alice", "password": DEFAULT_PASSWORD},
        secure=True,
        HTTP_HOST="vmlab.example",
    )

    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"]
    assert session["samesite"] == "Lax"
    assert client.cookies["csrftoken"]["secure"]


def log_in(client):
    UserFactory(username="alice")
    return client.post(reverse("accounts:login"), {"username": "alice", "password": DEFAULT_PASSWORD})


def test_by_default_the_session_ends_when_the_browser_closes(client):
    cookie = log_in(client).cookies["sessionid"]

    assert cookie["max-age"] == "" and cookie["expires"] == ""
    assert client.session.get_expiry_age() == 12 * 3600


def test_operators_can_keep_sessions_across_browser_restarts(client, settings):
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = False
    settings.SESSION_COOKIE_AGE = 3600

    cookie = log_in(client).cookies["sessionid"]

    assert cookie["max-age"] == 3600


@pytest.fixture
def pages(client):
    """A page of every kind, as an admin sees it (the role with the most on each page)."""
    admin = UserFactory(role=Role.ADMIN)
    vm = VirtualMachineFactory(owner=admin, password="pw", ssh_key=None)
    bookmark = BookmarkFactory(owner=admin)
    client.force_login(admin)
    return [
        reverse("dashboard"),
        reverse("machines:create"),
        reverse("machines:detail", args=[vm.pk]),
        reverse("machines:edit", args=[vm.pk]),
        reverse("machines:reveal", args=[vm.pk]),
        reverse("machines:password", args=[vm.pk]),
        reverse("machines:ssh_key", args=[vm.pk]),
        reverse("machines:delete", args=[vm.pk]),
        reverse("bookmarks:list"),
        reverse("bookmarks:create"),
        reverse("bookmarks:edit", args=[bookmark.pk]),
        reverse("bookmarks:import"),
        reverse("people:user_list"),
        reverse("people:user_detail", args=[admin.pk]),
        reverse("people:waiting_list"),
        reverse("accounts:password_change"),
        reverse("accounts:profile"),
        reverse("accounts:two_factor"),
        reverse("accounts:two_factor_totp"),
        reverse("admin:index"),
        reverse("admin:machines_virtualmachine_changelist"),
        reverse("admin:machines_virtualmachine_change", args=[vm.pk]),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_change", args=[admin.pk]),
        reverse("admin:audit_auditevent_changelist"),
        reverse("audit:event_list"),
        reverse("admin:axes_accessattempt_changelist"),
    ]


def assert_nothing_inline(response, url):
    assert response.status_code in (200, 429), url
    html = response.text
    assert not INLINE_SCRIPT.search(html), url
    assert not INLINE_STYLE.search(html), url
    assert not INLINE_HANDLER.search(html), url
    assert not JAVASCRIPT_URL.search(html), url


def test_no_page_holds_inline_script_or_style_that_the_policy_would_block(client, pages):
    for url in pages:
        assert_nothing_inline(client.get(url), url)


def test_nor_do_the_pages_of_visitors_and_the_lockout_page(client):
    UserFactory(username="alice")
    for url in ["accounts:login", "accounts:register", "accounts:password_reset", "admin:login"]:
        assert_nothing_inline(client.get(reverse(url)), url)
    for _attempt in range(5):
        locked = client.post(reverse("accounts:login"), {"username": "alice", "password": "wrong"})

    assert locked.status_code == 429
    assert_nothing_inline(locked, "lockout page")


def test_nor_does_the_second_step_of_signing_in(client):
    user = UserFactory(username="ada")
    authenticator_for(user)
    stored_passkey_for(user)
    client.post(reverse("accounts:login"), {"username": "ada", "password": DEFAULT_PASSWORD})

    page = client.get(reverse("accounts:second_factor"))

    assert "passkey-verification-placeholder" in page.text
    assert_nothing_inline(page, "second factor")
