"""A real OpenID Connect provider for the tests: oidc-provider-mock on a free loopback port, one per test session.

It signs ID tokens with its own RSA key (RS256) and publishes it at its JWKS endpoint, like Keycloak does; users and
their claims are set over its HTTP API. Browsers (the Django test client here) are sent to it and back for real.
"""

import os
import threading
import warnings
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import werkzeug.serving

CLIENT_ID = "vmlab"
CLIENT_SECRET = "client secret of vmlab"
CALLBACK = "http://testserver/oidc/callback/"


class Provider:
    def __init__(self, issuer: str):
        self.issuer = issuer

    def add_user(self, sub: str, **claims) -> None:
        requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()

    def authorize(self, authorize_url: str, sub: str) -> str:
        """The user `sub` approves at the provider: the URL it sends the browser back to."""
        answer = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]

    def sign_in(self, client, sub: str, next_url: str = ""):
        """The whole redirect flow in `client`: VM Lab → provider → VM Lab's callback. Returns the callback's answer."""
        start = client.get("/oidc/authenticate/" + (f"?next={next_url}" if next_url else ""))
        assert start.status_code == 302, start
        back = urlsplit(self.authorize(start["Location"], sub))
        return client.get(f"{back.path}?{back.query}")

    def issue_id_token(self, *, sub: str, client_id: str = CLIENT_ID, nonce: str = "nonce-1") -> str:
        """An ID token the provider really signs, for `client_id`, obtained as that client would."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": CALLBACK,
                "scope": "openid email profile",
                "state": "state-1",
                "nonce": nonce,
            }
        )
        back = self.authorize(f"{self.issuer}/oauth2/authorize?{query}", sub)
        code = parse_qs(urlsplit(back).query)["code"][0]
        token = requests.post(
            f"{self.issuer}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                "client_id": client_id,
                "client_secret": "any",
            },
            timeout=5,
        )
        token.raise_for_status()
        return token.json()["id_token"]


@pytest.fixture(scope="session")
def oidc_provider():
    with warnings.catch_warnings():
        # authlib warns about its own modules that the mock imports, and puts its warnings first in the filters.
        from authlib.deprecate import AuthlibDeprecationWarning

        warnings.simplefilter("ignore", AuthlibDeprecationWarning)
        import oidc_provider_mock

    # The provider speaks plain HTTP on loopback; authlib refuses that unless told.
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    server = werkzeug.serving.make_server("127.0.0.1", 0, oidc_provider_mock.app(require_nonce=True), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield Provider(f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture
def oidc_settings(oidc_provider, settings):
    """VM Lab signing in through the session's provider, Keycloak-style group claims mapped to roles."""
    settings.OIDC_ISSUER_URL = oidc_provider.issuer
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "Lab SSO"
    settings.OIDC_ROLE_CLAIM = "groups"
    settings.OIDC_ROLE_MAP = "regular=/students;manager=/staff"
    settings.OIDC_ROLE_MAP_AUTHORITATIVE = False
    return oidc_provider
