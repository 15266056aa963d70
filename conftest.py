import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from django.core.cache import cache
from django_q.conf import Conf

from access.roles import SECOND_FACTOR_OPTIONAL, Role
from accounts.tests.directory_server import (  # noqa: F401 (fixtures: the real OpenLDAP server)
    closed_ldap_port,
    directory_settings,
    ldap_directory,
    silent_ldap_port,
)
from accounts.tests.factories import UserFactory
from accounts.tests.oidc_provider import oidc_provider, oidc_settings  # noqa: F401 (fixtures: a real OIDC provider)
from vmlab.core import crypto
from vmlab.tests.leakscan import every_logger, responses  # noqa: F401 (fixtures for the leak tests)

TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _tasks_run_at_once(monkeypatch):
    """Tasks queued in a test (e-mails, "Check now" probes) run at once, in the test's own process and database
    transaction, once the transaction that queued them commits (django_capture_on_commit_callbacks). The tests of
    the worker itself (jobs/tests/test_worker.py) start real worker processes instead."""
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # Hashing with Argon2 would make every user factory call slow; production keeps Argon2 first.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests own their key, independent of whatever the developer's .env holds.
    settings.FIELD_ENCRYPTION_KEYS = (TEST_ENCRYPTION_KEY,)
    # The test client speaks plain HTTP, whatever DEBUG the environment gives.
    settings.SECURE_SSL_REDIRECT = False
    # Static files resolve to their plain names, with no collectstatic manifest needed.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Rate-limit counters live in the cache: each test starts with none (SQLite may reuse user ids).
    cache.clear()
    # Most tests log managers and admins in with force_login: the second factor their role needs in production
    # (TWO_FACTOR_REQUIRED_ROLE=manager) is turned on by the tests about it.
    settings.TWO_FACTOR_REQUIRED_ROLE = SECOND_FACTOR_OPTIONAL
    # Each test states its own sign-in sources; a developer's .env configures none of them here.
    settings.LDAP_SERVER_URI = ""
    settings.OIDC_ISSUER_URL = ""
    settings.LOCAL_LOGIN = True


@pytest.fixture
def admin(db):
    return UserFactory(username="root-admin", role=Role.ADMIN)


@pytest.fixture
def admin_client(client, admin):
    """A browser logged in to the Django admin as an admin (replaces pytest-django's own)."""
    client.force_login(admin)
    return client


@pytest.fixture
def decrypt_calls(monkeypatch):
    """Every call to vmlab.core.crypto.decrypt, which vmlab.core.fields reaches through the module attribute."""
    calls = []
    real_decrypt = crypto.decrypt

    def counting_decrypt(token):
        calls.append(token)
        return real_decrypt(token)

    monkeypatch.setattr(crypto, "decrypt", counting_decrypt)
    return calls


@pytest.fixture(scope="session")
def ssh_private_key():
    """An unencrypted Ed25519 key in OpenSSH format, as `ssh-keygen -t ed25519 -N ''` writes it."""
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="session")
def rsa_pem_private_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
