"""Signing in through a real OpenID Connect provider on loopback (accounts.oidc): the redirect flow with PKCE, state
and nonce, accounts matched by `sub`, roles from a claim, and ID tokens that must be refused."""

import base64
import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import SuspiciousOperation
from django.urls import reverse
from django.utils import timezone

from access.roles import Role
from accounts.models import SignIn, User
from accounts.oidc import OIDCBackend, TokenRefused
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from audit.models import Action, AuditEvent
from people import services as people_services

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def follow(client, response):
    return client.get(response["Location"])


def is_logged_in(client):
    return "_auth_user_id" in client.session


def test_the_login_page_offers_the_provider_when_configured(client, oidc_settings):
    response = client.get(LOGIN_URL)

    assert "Sign in with Lab SSO" in response.text
    assert reverse("oidc:authenticate") in response.text


def test_the_login_page_has_no_provider_button_without_one(client):
    assert "Sign in with" not in client.get(LOGIN_URL).text


def test_a_first_sign_in_creates_an_account_matched_by_sub_with_the_role_of_its_groups(client, oidc_settings):
    oidc_settings.add_user(
        "sub-ada-1",
        email="ada@uni.example",
        preferred_username="ada",
        given_name="Ada",
        family_name="Lovelace",
        groups=["/students"],
    )

    response = oidc_settings.sign_in(client, "sub-ada-1", next_url="/accounts/profile/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    assert is_logged_in(client)
    user = User.objects.get(oidc_subject="sub-ada-1")
    assert (user.username, user.email, user.first_name, user.last_name) == ("ada", "ada@uni.example", "Ada", "Lovelace")
    assert (user.role, user.sign_in, user.has_usable_password()) == (Role.REGULAR, SignIn.OIDC, False)
    login = AuditEvent.objects.get(action=Action.LOGIN)
    assert (login.actor, login.details["how"], login.details["second_factor"]) == (user, "oidc", "none")


def test_the_next_sign_in_finds_the_account_by_sub_even_with_a_new_email_and_name(client, oidc_settings):
    oidc_settings.add_user("sub-ada-2", email="ada2@uni.example", preferred_username="ada2", groups=["/students"])
    oidc_settings.sign_in(client, "sub-ada-2")
    client.post(reverse("accounts:logout"))
    oidc_settings.add_user("sub-ada-2", email="ada.king@uni.example", preferred_username="countess", groups=[])

    oidc_settings.sign_in(client, "sub-ada-2")

    [user] = User.objects.filter(sign_in=SignIn.OIDC)
    assert (user.username, user.email, user.role) == ("ada2", "ada.king@uni.example", Role.REGULAR)


def test_an_existing_account_with_the_same_email_is_never_linked_silently(client, oidc_settings):
    local = UserFactory(username="grace", email="grace@uni.example")
    oidc_settings.add_user("sub-grace", email="grace@uni.example", preferred_username="grace", groups=["/staff"])

    response = follow(client, oidc_settings.sign_in(client, "sub-grace"))

    assert "Another VM Lab account already uses your e-mail address grace@uni.example" in response.text
    assert not is_logged_in(client)
    local.refresh_from_db()
    assert (local.oidc_subject, local.sign_in) == (None, SignIn.LOCAL)
    assert User.objects.count() == 1


def test_a_taken_username_gets_a_number(client, oidc_settings):
    UserFactory(username="linus")
    oidc_settings.add_user("sub-linus", email="linus@uni.example", preferred_username="linus")

    oidc_settings.sign_in(client, "sub-linus")

    assert User.objects.get(oidc_subject="sub-linus").username == "linus-2"


def test_no_mapped_group_means_the_waiting_list(client, oidc_settings):
    oidc_settings.add_user("sub-new", email="new@uni.example", preferred_username="newbie", groups=["/alumni"])

    oidc_settings.sign_in(client, "sub-new")

    assert User.objects.get(oidc_subject="sub-new").role == Role.NEW_USER
    assert client.get("/").url == reverse("accounts:waiting")


def test_the_claim_raises_a_role_only_unless_authoritative(client, oidc_settings, settings, admin):
    oidc_settings.add_user("sub-kat", email="kat@uni.example", preferred_username="kat", groups=["/students"])
    oidc_settings.sign_in(client, "sub-kat")
    client.post(reverse("accounts:logout"))
    people_services.user_set_role(user=User.objects.get(username="kat"), role=Role.SIDEKICK, actor=admin)

    oidc_settings.sign_in(client, "sub-kat")
    client.post(reverse("accounts:logout"))
    kept = User.objects.get(username="kat").role
    settings.OIDC_ROLE_MAP_AUTHORITATIVE = True
    oidc_settings.sign_in(client, "sub-kat")

    assert kept == Role.SIDEKICK
    assert User.objects.get(username="kat").role == Role.REGULAR
    sync = AuditEvent.objects.get(action=Action.USER_ROLE_SYNC)
    assert sync.details == {
        "old": "sidekick",
        "new": "regular",
        "source": "oidc",
        "authoritative": True,
        "group": "/students",
    }


def test_the_request_carries_pkce_state_and_nonce(client, oidc_settings):
    start = client.get(reverse("oidc:authenticate"))

    query = parse_qs(urlsplit(start["Location"]).query)
    [state] = query["state"]
    stored = client.session["oidc_states"][state]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(stored["code_verifier"].encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == [challenge.decode()]
    assert query["code_challenge_method"] == ["S256"]
    assert query["nonce"] == [stored["nonce"]]
    assert query["client_id"] == ["vmlab"]
    assert query["redirect_uri"] == ["http://testserver/oidc/callback/"]


def test_an_answer_replayed_or_for_another_browser_is_refused(client, oidc_settings):
    oidc_settings.add_user("sub-rep", email="rep@uni.example", preferred_username="rep")
    start = client.get(reverse("oidc:authenticate"))
    back = urlsplit(oidc_settings.authorize(start["Location"], "sub-rep"))
    callback = f"{back.path}?{back.query}"
    client.get(callback)
    client.post(reverse("accounts:logout"))

    replayed = follow(client, client.get(callback))

    assert "This sign-in answer is not one this browser is waiting for" in replayed.text
    assert not is_logged_in(client)


def test_a_user_who_declines_at_the_provider_is_told_so(client, oidc_settings):
    import requests

    start = client.get(reverse("oidc:authenticate"))
    answer = requests.post(start["Location"], data={"action": "deny"}, allow_redirects=False, timeout=5)
    back = urlsplit(answer.headers["Location"])

    response = follow(client, client.get(f"{back.path}?{back.query}"))

    assert "Lab SSO did not sign you in." in response.text
    assert not is_logged_in(client)


def test_a_provider_that_is_down_gives_a_clear_message(client, oidc_settings, settings, closed_ldap_port):
    settings.OIDC_ISSUER_URL = f"http://127.0.0.1:{closed_ldap_port}"

    response = client.get(reverse("oidc:authenticate"), follow=True)

    assert "Sign-in service unavailable: Lab SSO does not answer" in response.text


def test_a_disabled_account_stays_out(client, oidc_settings, admin):
    oidc_settings.add_user("sub-off", email="off@uni.example", preferred_username="off", groups=["/staff"])
    oidc_settings.sign_in(client, "sub-off")
    client.post(reverse("accounts:logout"))
    people_services.user_disable(user=User.objects.get(username="off"), actor=admin)

    response = follow(client, oidc_settings.sign_in(client, "sub-off"))

    assert "This account is disabled" in response.text
    assert not is_logged_in(client)


# Forged and unacceptable ID tokens, checked against the provider's real keys (its JWKS endpoint).


@pytest.fixture
def backend(oidc_settings):
    backend = OIDCBackend()
    backend.load_settings()
    return backend


@pytest.fixture
def attacker_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_a_genuine_token_passes(backend, oidc_settings):
    token = oidc_settings.issue_id_token(sub="sub-genuine", nonce="n-1")

    assert backend.verify_token(token, nonce="n-1")["sub"] == "sub-genuine"


def test_a_token_re_signed_with_another_key_is_refused(backend, oidc_settings, attacker_key):
    genuine = oidc_settings.issue_id_token(sub="sub-victim", nonce="n-2")
    claims = jwt.decode(genuine, options={"verify_signature": False})
    forged = jwt.encode(
        {**claims, "sub": "sub-admin"}, attacker_key, algorithm="RS256", headers=jwt.get_unverified_header(genuine)
    )

    with pytest.raises(TokenRefused, match="signature is not valid"):
        backend.verify_token(forged, nonce="n-2")


def test_a_token_signed_by_an_unknown_key_is_refused(backend, oidc_settings, attacker_key):
    claims = jwt.decode(oidc_settings.issue_id_token(sub="sub-x", nonce="n-3"), options={"verify_signature": False})
    forged = jwt.encode(claims, attacker_key, algorithm="RS256", headers={"kid": "attacker"})

    with pytest.raises(TokenRefused, match="signed with a key the provider does not publish"):
        backend.verify_token(forged, nonce="n-3")


def test_a_token_issued_for_another_application_is_refused(backend, oidc_settings):
    token = oidc_settings.issue_id_token(sub="sub-y", client_id="another-app", nonce="n-4")

    with pytest.raises(TokenRefused, match="issued for another application"):
        backend.verify_token(token, nonce="n-4")


def test_an_expired_token_is_refused(backend, oidc_settings):
    token = oidc_settings.issue_id_token(sub="sub-z", nonce="n-5")

    with time_machine.travel(timezone.now() + timedelta(hours=2)), pytest.raises(TokenRefused, match="expired"):
        backend.verify_token(token, nonce="n-5")


def test_an_unsigned_token_is_refused(backend, oidc_settings):
    claims = jwt.decode(oidc_settings.issue_id_token(sub="sub-n", nonce="n-6"), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "x"})

    with pytest.raises((TokenRefused, SuspiciousOperation)):
        backend.verify_token(unsigned, nonce="n-6")


def test_a_token_of_another_sign_in_fails_the_nonce_check(backend, oidc_settings):
    token = oidc_settings.issue_id_token(sub="sub-w", nonce="someone-elses-nonce")

    with pytest.raises(SuspiciousOperation, match="Nonce"):
        backend.verify_token(token, nonce="this-browsers-nonce")


def test_a_refused_token_in_the_flow_shows_its_reason_on_the_login_page(client, oidc_settings, monkeypatch):
    # The provider's answer, as an attacker in the middle would change it: the token is for another application.
    oidc_settings.add_user("sub-mitm", email="mitm@uni.example", preferred_username="mitm")
    foreign = oidc_settings.issue_id_token(sub="sub-mitm", client_id="another-app")
    real_get_token = OIDCBackend.get_token

    def tampered(self, payload):
        return {**real_get_token(self, payload), "id_token": foreign}

    monkeypatch.setattr(OIDCBackend, "get_token", tampered)

    response = follow(client, oidc_settings.sign_in(client, "sub-mitm"))

    assert "The sign-in token was issued for another application: refused." in response.text
    assert not is_logged_in(client)
    assert not User.objects.filter(oidc_subject="sub-mitm").exists()


# LOCAL_LOGIN=false


def test_without_local_login_the_password_form_is_gone_and_local_users_are_refused(client, oidc_settings, settings):
    settings.LOCAL_LOGIN = False
    UserFactory(username="jo", role=Role.SIDEKICK)

    page = client.get(LOGIN_URL)
    refused = client.post(reverse("accounts:login_break_glass"), {"username": "jo", "password": DEFAULT_PASSWORD})

    assert 'name="password"' not in page.text
    assert "Sign in with Lab SSO" in page.text
    assert "Signing in with a VM Lab password is turned off here" in refused.text
    assert not is_logged_in(client)


def test_a_break_glass_admin_signs_in_with_their_local_password(client, oidc_settings, settings):
    settings.LOCAL_LOGIN = False
    UserFactory(username="root", role=Role.ADMIN)

    page = client.get(reverse("accounts:login_break_glass"))
    response = client.post(reverse("accounts:login_break_glass"), {"username": "root", "password": DEFAULT_PASSWORD})

    assert 'name="password"' in page.text
    assert response.status_code == 302
    assert is_logged_in(client)
