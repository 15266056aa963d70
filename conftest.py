import pytest
from cryptography.fernet import Fernet

from accounts.roles import Role
from accounts.tests.factories import UserFactory

TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # Hashing with Argon2 would make every user factory call slow; production keeps Argon2 first.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests own their key, independent of whatever the developer's .env holds.
    settings.FIELD_ENCRYPTION_KEYS = (TEST_ENCRYPTION_KEY,)
    # The test client speaks plain HTTP, whatever DEBUG the environment gives.
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def admin(db):
    return UserFactory(username="root-admin", role=Role.ADMIN)


@pytest.fixture
def admin_client(client, admin):
    """A browser logged in to the Django admin as an admin (replaces pytest-django's own)."""
    client.force_login(admin)
    return client
