"""What one login costs in database queries, for each way of signing in: pinned, so that it cannot grow unnoticed.

Measured on the request that completes the login (the password form's POST; for OIDC, the provider's answer at
/oidc/callback/), for an existing account without a second factor, and for the code step of one with an
authenticator app.
"""

from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.roles import Role
from accounts.tests.directory_server import STUDENTS
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.two_factor_helpers import authenticator_for

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
# Queries of the login request: the lockout's checks and bookkeeping (django-axes), the account, whether its access
# has ended (by the database's clock), the last-login and session writes, the audit row; the directory or OIDC
# account refresh; the second-factor lookups.
# The OIDC callback also reads and rewrites the session around the slow token exchange (mozilla-django-oidc).
EXPECTED = {"local": 17, "ldap": 20, "oidc": 26, "second_factor": 22}


def queries_of(request) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = request()
    assert response.status_code == 302, response
    return len(captured.captured_queries)


def test_a_local_login(client):
    UserFactory(username="jo", role=Role.SIDEKICK)

    count = queries_of(lambda: client.post(LOGIN_URL, {"username": "jo", "password": DEFAULT_PASSWORD}))

    assert count == EXPECTED["local"]


def test_a_directory_login(client, directory_settings):
    directory_settings.add_person("ada-q", "pw of ada-q", groups=[STUDENTS])
    client.post(LOGIN_URL, {"username": "ada-q", "password": "pw of ada-q"})
    client.post(reverse("accounts:logout"))

    count = queries_of(lambda: client.post(LOGIN_URL, {"username": "ada-q", "password": "pw of ada-q"}))

    assert count == EXPECTED["ldap"]


def test_an_oidc_login(client, oidc_settings):
    oidc_settings.add_user("sub-q", email="q@uni.example", preferred_username="q", groups=["/students"])
    oidc_settings.sign_in(client, "sub-q")
    client.post(reverse("accounts:logout"))
    start = client.get(reverse("oidc:authenticate"))
    back = urlsplit(oidc_settings.authorize(start["Location"], "sub-q"))

    count = queries_of(lambda: client.get(f"{back.path}?{back.query}"))

    assert count == EXPECTED["oidc"]


def test_the_code_step(client):
    phone = authenticator_for(UserFactory(username="jo", role=Role.SIDEKICK))
    client.post(LOGIN_URL, {"username": "jo", "password": DEFAULT_PASSWORD})

    count = queries_of(lambda: client.post(reverse("accounts:second_factor"), {"otp_token": phone.now()}))

    assert count == EXPECTED["second_factor"]
