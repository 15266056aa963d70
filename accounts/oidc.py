"""Signing in through an OpenID Connect provider (mozilla-django-oidc): Keycloak, Entra ID, Google, SATOSA, …

The authorization code flow with PKCE, state and nonce. The provider's endpoints and keys come from its discovery
document (OIDC_ISSUER_URL/.well-known/openid-configuration), fetched on first use and kept for an hour. The ID token
must be signed (RS256) by a key of the provider's JWKS, issued by OIDC_ISSUER_URL for OIDC_CLIENT_ID, unexpired, and
carry the nonce of this browser's sign-in; anything else is refused with a message saying which check failed.

People are matched by the provider's `sub` claim only (User.oidc_subject), never by e-mail: a first sign-in creates
a new account, and is refused when a VM Lab account already has that e-mail address (an admin decides). The role
comes from the OIDC_ROLE_CLAIM claim through OIDC_ROLE_MAP, by the same rule as the directory's groups.
"""

import logging
import re
import time
from collections.abc import Iterable

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from accounts import services
from accounts.models import SignIn, User
from accounts.role_map import granted_role, parse_role_map
from audit.context import for_request

logger = logging.getLogger(__name__)

DISCOVERY_SECONDS = 3600
_discovered: dict[str, tuple[float, dict]] = {}
# mozilla-django-oidc's setting names, answered from the discovery document or from VM Lab's own settings.
ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
RENAMED = {
    "OIDC_RP_CLIENT_ID": "OIDC_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET": "OIDC_CLIENT_SECRET",
    "OIDC_RP_SCOPES": "OIDC_SCOPES",
}
TOKEN_LEEWAY_SECONDS = 30
_USERNAME_CHARACTERS = re.compile(r"[^\w.@+-]")


class ProviderUnavailable(Exception):
    pass


class TokenRefused(Exception):
    """The provider's answer failed a check; the message says which, for the user."""


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER_URL and settings.OIDC_CLIENT_ID)


def unavailable_message() -> str:
    return _("Sign-in service unavailable: %(provider)s does not answer. Try again in a few minutes.") % {
        "provider": settings.OIDC_PROVIDER_NAME
    }


def discovery() -> dict:
    """The provider's discovery document; ProviderUnavailable if it cannot be read or names another issuer."""
    issuer = settings.OIDC_ISSUER_URL
    cached = _discovered.get(issuer)
    if cached is not None and time.monotonic() - cached[0] < DISCOVERY_SECONDS:
        return cached[1]
    try:
        response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        logger.error("OIDC discovery document of %s unreadable: %s", issuer, type(error).__name__)
        raise ProviderUnavailable(issuer) from error
    if str(document.get("issuer", "")).rstrip("/") != issuer or any(key not in document for key in ENDPOINTS.values()):
        logger.error("OIDC discovery document of %s names another issuer or lacks an endpoint", issuer)
        raise ProviderUnavailable(issuer)
    _discovered[issuer] = (time.monotonic(), document)
    return document


def oidc_setting(name: str, *default):
    """A mozilla-django-oidc setting: endpoints from discovery, client and scopes from VM Lab's settings."""
    if name in ENDPOINTS:
        return discovery()[ENDPOINTS[name]]
    if name in RENAMED:
        return getattr(settings, RENAMED[name])
    return import_from_settings(name, *default)


def _claim_values(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(item) for item in value]
    return [str(value)]


def _new_username(claims: dict) -> str:
    """A free username from the claims: preferred_username, else the e-mail's local part, with -2, -3… if taken."""
    wanted = claims.get("preferred_username") or str(claims.get("email", "")).partition("@")[0] or "user"
    base = _USERNAME_CHARACTERS.sub("", str(wanted))[:140] or "user"
    candidate, number = base, 1
    while User.objects.with_username(candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


class OIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend with full ID token checks, matching by `sub`, and accounts.services writes."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # Django builds every backend for each authenticate() call: the provider is asked only for an OIDC sign-in.
        self.UserModel = get_user_model()

    def load_settings(self) -> None:
        """mozilla-django-oidc's settings, the provider's endpoints among them (ProviderUnavailable if unreadable)."""
        super().__init__()

    def authenticate(self, request, **kwargs):
        if request is None or "nonce" not in kwargs or not enabled():
            return None
        try:
            self.load_settings()
            return super().authenticate(request, **kwargs)
        except requests.HTTPError as error:
            logger.warning("OIDC sign-in refused by the provider: %s", error)
            request.sign_in_problem = _("%(provider)s refused to complete the sign-in: sign in again.") % {
                "provider": settings.OIDC_PROVIDER_NAME
            }
        except (ProviderUnavailable, requests.RequestException) as error:
            logger.error("OIDC sign-in failed, provider unreachable: %s", type(error).__name__)
            request.sign_in_problem = unavailable_message()
        except TokenRefused as refusal:
            logger.warning("OIDC sign-in refused: %s", refusal)
            request.sign_in_problem = str(refusal)
        except (SuspiciousOperation, jwt.PyJWTError) as error:
            logger.warning("OIDC sign-in refused: %s", error)
            request.sign_in_problem = _("The sign-in answer of %(provider)s failed a security check: %(reason)s") % {
                "provider": settings.OIDC_PROVIDER_NAME,
                "reason": str(error),
            }
        except services.ExternalAccountConflict as conflict:
            request.sign_in_problem = str(conflict)
        return None

    def retrieve_matching_jwk(self, token):
        """The provider's published signing key for `token`: the one its `kid` names, or the only one there is
        when the token names none (many providers publish a single key without naming it)."""
        header = jwt.get_unverified_header(token)
        response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        keys = [
            key
            for key in response.json().get("keys", [])
            if key.get("use", "sig") == "sig" and key.get("alg", header.get("alg")) == header.get("alg")
        ]
        if "kid" in header:
            keys = [key for key in keys if key.get("kid") == header["kid"]]
        if len(keys) != 1:
            raise TokenRefused(_("The sign-in token is signed with a key the provider does not publish: refused."))
        return jwt.PyJWK(keys[0])

    def _verify_jws(self, payload, key):
        """The ID token's signature, issuer, audience, expiry and issue time (mozilla-django-oidc skips the audience
        and the issuer); the nonce is compared by verify_token."""
        algorithm = jwt.get_unverified_header(payload).get("alg")
        if algorithm != self.OIDC_RP_SIGN_ALGO:
            raise TokenRefused(_("The sign-in token is signed with %(alg)s, not RS256: refused.") % {"alg": algorithm})
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER_URL,
                leeway=TOKEN_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenRefused(_("The sign-in token has expired: sign in again.")) from error
        except jwt.InvalidAudienceError as error:
            raise TokenRefused(_("The sign-in token was issued for another application: refused.")) from error
        except jwt.InvalidIssuerError as error:
            raise TokenRefused(_("The sign-in token comes from another issuer: refused.")) from error
        except jwt.InvalidSignatureError as error:
            raise TokenRefused(_("The sign-in token's signature is not valid: refused.")) from error
        except jwt.PyJWTError as error:
            raise TokenRefused(
                _("The sign-in token is not valid (%(reason)s): refused.") % {"reason": error}
            ) from error

    def get_or_create_user(self, access_token, id_token, payload):
        """The account of the ID token's `sub`, created on first sign-in, refreshed after."""
        claims = self.get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload["sub"]:
            raise TokenRefused(_("The provider's user information is about someone else: refused."))
        claims = {**payload, **claims}
        mappings = parse_role_map(settings.OIDC_ROLE_MAP, "OIDC_ROLE_MAP")
        granted = granted_role(_claim_values(claims.get(settings.OIDC_ROLE_CLAIM)), mappings)
        personal = {
            "email": str(claims.get("email") or ""),
            "first_name": str(claims.get("given_name") or ""),
            "last_name": str(claims.get("family_name") or ""),
        }
        context = for_request(self.request)
        user = User.objects.filter(oidc_subject=payload["sub"]).first()
        if user is None:
            return services.external_user_create(
                sign_in=SignIn.OIDC,
                username=_new_username(claims),
                oidc_subject=payload["sub"],
                granted=granted,
                context=context,
                **personal,
            )
        return services.external_user_refresh(
            user=user, granted=granted, authoritative=settings.OIDC_ROLE_MAP_AUTHORITATIVE, context=context, **personal
        )

    def get_user(self, user_id):
        # Sessions are tied to accounts.backends.LoginBackend; this backend only signs people in.
        return None
