import pytest
from cryptography.fernet import Fernet

TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # Hashing with Argon2 would make every user factory call slow; production keeps Argon2 first.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests own their key, independent of whatever the developer's .env holds.
    settings.FIELD_ENCRYPTION_KEYS = (TEST_ENCRYPTION_KEY,)
    # The test client speaks plain HTTP, whatever DEBUG the environment gives.
    settings.SECURE_SSL_REDIRECT = False
