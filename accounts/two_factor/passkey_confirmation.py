"""A passkey used to confirm a sensitive action (a reveal) by a signed-in user: remembered in the session for two
minutes, and used up by the action it confirmed (a wrong password meanwhile does not use it up: the lockout counts
those). Users whose only second factor is a passkey have no code to type."""

import time

from django.urls import reverse
from django_otp_webauthn.templatetags.otp_webauthn import get_configuration

_CONFIRMED = "accounts.passkey_confirmed"
CONFIRMATION_SECONDS = 120


def remember(request) -> None:
    request.session[_CONFIRMED] = time.time()


def is_fresh(request) -> bool:
    confirmed = request.session.get(_CONFIRMED)
    return confirmed is not None and time.time() - confirmed <= CONFIRMATION_SECONDS


def take(request) -> None:
    """Use the confirmation up."""
    request.session.pop(_CONFIRMED, None)


def script_configuration(request) -> dict:
    """django-otp-webauthn's script configuration, pointed at the confirmation endpoints."""
    return {
        **get_configuration(request),
        "beginAuthenticationUrl": reverse("otp_webauthn:confirmation-begin"),
        "completeAuthenticationUrl": reverse("otp_webauthn:confirmation-complete"),
    }
