"""Who is calling: a personal access token (accounts.tokens) or the browser's session (with its CSRF check)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from accounts.tokens import token_authenticate
from audit.context import for_request

BAD_HEADER = _("Send the token as: Authorization: %(keyword)s <token>.")
BAD_TOKEN = _("This token is unknown, expired or revoked, or its account is disabled.")


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`, as /api/v1/ takes it. request.auth is the ApiToken."""

    keyword = "Bearer"

    def authenticate(self, request):
        words = authentication.get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None
        try:
            (plaintext,) = (word.decode("ascii") for word in words[1:])
        except (ValueError, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed(BAD_HEADER % {"keyword": self.keyword}) from None
        token = token_authenticate(plaintext, context=for_request(request._request))
        if token is None:
            raise exceptions.AuthenticationFailed(BAD_TOKEN)
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="VM Lab API"'


class LinkdingTokenAuthentication(BearerTokenAuthentication):
    """`Authorization: Token <token>`, as linkding's clients send it to /api/bookmarks/ and /api/tags/."""

    keyword = "Token"


class SessionAuthentication(authentication.SessionAuthentication):
    """The portal's session, for the browser (the API's documentation pages, scripts on the page): every unsafe
    request needs the CSRF token, as a form would."""
