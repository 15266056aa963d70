"""Passkeys (WebAuthn, with django-otp-webauthn) as a second factor: the relying party is the site itself."""

from django.http.request import split_domain_port
from django_otp_webauthn.helpers import WebAuthnHelper


def relying_party_id(request) -> str:
    """OTP_WEBAUTHN_RP_ID_CALLABLE: the host name the browser asked for (Django checked it against ALLOWED_HOSTS)."""
    domain, _port = split_domain_port(request.get_host())
    return domain


class PasskeyHelper(WebAuthnHelper):
    def get_allowed_origins(self) -> list[str]:
        """The origin of the page that asked: the browser signs it into every ceremony, and a passkey made for
        another site never matches."""
        return [f"{self.request.scheme}://{self.request.get_host()}"]
