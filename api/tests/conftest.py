import pytest
from rest_framework.test import APIClient

from access.roles import Role
from accounts import tokens
from accounts.models import TokenScope
from accounts.tests.factories import UserFactory


def token_for(user, scope=TokenScope.WRITE, **kwargs) -> str:
    return tokens.token_create(user=user, name=f"{user.username}'s script", scope=scope, **kwargs)[1]


def bearer(user=None, scope=TokenScope.WRITE, *, token=None) -> APIClient:
    """An API client sending `Authorization: Bearer <token>` (a new token of `user`'s, or `token`)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token or token_for(user, scope)}")
    return client


@pytest.fixture
def sidekick(db):
    return UserFactory(username="sid", role=Role.SIDEKICK)


@pytest.fixture
def manager(db):
    return UserFactory(username="manny", role=Role.MANAGER)


@pytest.fixture
def regular(db):
    return UserFactory(username="reggie", role=Role.REGULAR)
