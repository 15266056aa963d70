import pytest

from access.roles import Role
from accounts.tests.factories import UserFactory


@pytest.fixture
def owner(client):
    """A sidekick (the lowest role that owns VMs), logged in with `client`."""
    user = UserFactory(role=Role.SIDEKICK)
    client.force_login(user)
    return user
