"""Settings as an operator meets them: each case starts a fresh interpreter with a chosen environment.

A local .env is read with setdefault, so every variable under test is set explicitly here (an
empty string counts as missing) or removed from the environment when .env does not set it.
"""

import json
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from vmlab.core.crypto import parse_keys

STRONG_SECRET_KEY = "s" * 20 + "3cr3t-k3y-for-tests-only-0123456789"
VALID_KEY = Fernet.generate_key().decode()

PRINT_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings; "
    "print(json.dumps({"
    "'engine': settings.DATABASES['default']['ENGINE'], "
    "'database': str(settings.DATABASES['default']['NAME']), "
    "'hasher': settings.PASSWORD_HASHERS[0], "
    "'secret_key_length': len(settings.SECRET_KEY), "
    "'session_ends_with_browser': settings.SESSION_EXPIRE_AT_BROWSER_CLOSE, "
    "'session_age': settings.SESSION_COOKIE_AGE, "
    "'lockout': [settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME.total_seconds()], "
    "'server_side_cursors_off': settings.DATABASES['default'].get('DISABLE_SERVER_SIDE_CURSORS', False)}))"
)


def run_python(*arguments, **variables):
    """Run Python in the project with this environment; a variable given as None is removed from it."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "vmlab.settings"}
    for name, value in variables.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def start_django(**variables):
    """Load the settings in a new interpreter."""
    return run_python("-c", PRINT_SETTINGS, **variables)


def loaded_settings(**variables):
    result = start_django(**variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def startup_error(**variables):
    result = start_django(**variables)
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    return result.stderr


PRODUCTION = {"DEBUG": "false", "SECRET_KEY": STRONG_SECRET_KEY, "FIELD_ENCRYPTION_KEYS": VALID_KEY}


@pytest.fixture(scope="module")
def production_defaults():
    return loaded_settings(**PRODUCTION, DATABASE_URL=None)


def test_missing_encryption_keys_stop_startup_and_say_how_to_make_one():
    error = startup_error(**{**PRODUCTION, "DEBUG": "true", "FIELD_ENCRYPTION_KEYS": ""})

    assert "FIELD_ENCRYPTION_KEYS" in error
    assert "Fernet.generate_key" in error


def test_malformed_encryption_key_stops_startup():
    error = startup_error(**{**PRODUCTION, "FIELD_ENCRYPTION_KEYS": "not-a-fernet-key"})

    assert "not a valid Fernet key" in error


def test_production_without_secret_key_stops_startup():
    error = startup_error(**{**PRODUCTION, "SECRET_KEY": ""})

    assert "SECRET_KEY is not set" in error


def test_production_with_a_short_secret_key_stops_startup():
    error = startup_error(**{**PRODUCTION, "SECRET_KEY": "short-but-not-empty"})

    assert "SECRET_KEY is too weak" in error


@pytest.mark.parametrize("limit", ["0", "101"])
def test_a_reveal_rate_limit_outside_1_to_100_stops_startup(limit):
    error = startup_error(**PRODUCTION, REVEAL_RATE_LIMIT=limit)

    assert "REVEAL_RATE_LIMIT must be between 1 and 100" in error


def test_development_without_secret_key_starts_with_a_generated_one():
    loaded = loaded_settings(**{**PRODUCTION, "DEBUG": "true", "SECRET_KEY": ""})

    assert loaded["secret_key_length"] >= 50


def test_database_url_selects_postgresql():
    loaded = loaded_settings(**PRODUCTION, DATABASE_URL="postgres://postgres@127.0.0.1:5432/vmlab")

    assert (loaded["engine"], loaded["database"]) == ("django.db.backends.postgresql", "vmlab")


def test_sqlite_is_the_default_database(production_defaults):
    assert production_defaults["engine"] == "django.db.backends.sqlite3"
    assert production_defaults["database"] == str(django_settings.BASE_DIR / "db.sqlite3")


def test_empty_database_url_falls_back_to_sqlite():
    loaded = loaded_settings(**PRODUCTION, DATABASE_URL="")

    assert loaded["engine"] == "django.db.backends.sqlite3"


def test_database_pooling_through_pgbouncer_turns_server_side_cursors_off():
    loaded = loaded_settings(
        **PRODUCTION, DATABASE_URL="postgres://postgres@127.0.0.1:6432/vmlab", DATABASE_POOLING="pgbouncer"
    )

    assert loaded["server_side_cursors_off"] is True


@pytest.mark.parametrize("pooling", [None, "", "none"])
def test_direct_database_connections_keep_server_side_cursors(pooling):
    loaded = loaded_settings(
        **PRODUCTION, DATABASE_URL="postgres://postgres@127.0.0.1:5432/vmlab", DATABASE_POOLING=pooling
    )

    assert loaded["server_side_cursors_off"] is False


def test_an_unknown_database_pooling_stops_startup():
    error = startup_error(**PRODUCTION, DATABASE_POOLING="pgpool")

    assert "DATABASE_POOLING must be none or pgbouncer, not 'pgpool'" in error


def test_pgbouncer_pooling_on_sqlite_stops_startup():
    error = startup_error(**PRODUCTION, DATABASE_URL="sqlite:///x.sqlite3", DATABASE_POOLING="pgbouncer")

    assert "DATABASE_POOLING=pgbouncer needs a PostgreSQL DATABASE_URL" in error


def test_argon2_is_the_password_hasher_outside_tests(production_defaults):
    assert production_defaults["hasher"] == "django.contrib.auth.hashers.Argon2PasswordHasher"


# parse_keys


def test_sessions_end_with_the_browser_and_after_12_hours_by_default(production_defaults):
    assert production_defaults["session_ends_with_browser"] is True
    assert production_defaults["session_age"] == 12 * 3600


def test_operators_choose_session_expiry_in_the_environment():
    loaded = loaded_settings(**PRODUCTION, SESSION_EXPIRE_AT_BROWSER_CLOSE="false", SESSION_COOKIE_AGE="3600")

    assert (loaded["session_ends_with_browser"], loaded["session_age"]) == (False, 3600)


def test_lockout_is_five_failures_for_fifteen_minutes_unless_configured(production_defaults):
    assert production_defaults["lockout"] == [5, 15 * 60]
    assert loaded_settings(**PRODUCTION, AXES_FAILURE_LIMIT="3", AXES_COOLOFF_MINUTES="60")["lockout"] == [3, 3600]


@pytest.mark.parametrize("variable", ["AXES_FAILURE_LIMIT", "AXES_COOLOFF_MINUTES"])
def test_a_lockout_that_could_never_lock_or_never_end_stops_startup(variable):
    assert variable in startup_error(**PRODUCTION, **{variable: "0"})


@pytest.mark.parametrize("count", ["-1", "11"])
def test_a_trusted_proxy_count_outside_0_to_10_stops_startup(count):
    assert "TRUSTED_PROXY_COUNT" in startup_error(**PRODUCTION, TRUSTED_PROXY_COUNT=count)


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("EXPIRY_WARNING_DAYS", "0", "EXPIRY_WARNING_DAYS must be between 1 and 60 (days)."),
        ("REACHABILITY_INTERVAL", "-1", "REACHABILITY_INTERVAL must be between 0 and 1440"),
        ("REACHABILITY_CONCURRENCY", "0", "REACHABILITY_CONCURRENCY must be between 1 and 1000"),
        ("REACHABILITY_TIMEOUT", "0", "REACHABILITY_TIMEOUT must be more than 0 and at most 60"),
        ("TASK_WORKERS", "0", "TASK_WORKERS must be between 1 and 64"),
        ("TASK_BROKER_URL", "amqp://127.0.0.1/", "TASK_BROKER_URL must be a Redis URL"),
    ],
)
def test_access_time_and_task_queue_settings_out_of_range_stop_startup(variable, value, words):
    assert words in startup_error(**PRODUCTION, **{variable: value})


def test_the_task_queue_uses_the_database_unless_a_redis_broker_is_given():
    show = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps({key: settings.Q_CLUSTER.get(key) for key in ('orm', 'redis', 'name')}))"
    )

    default = json.loads(run_python("-c", show, **PRODUCTION, TASK_BROKER_URL="", TASK_QUEUE_NAME=None).stdout)
    with_redis = json.loads(
        run_python("-c", show, **PRODUCTION, TASK_BROKER_URL="redis://127.0.0.1:6379/1", TASK_QUEUE_NAME="lab").stdout
    )

    assert default == {"orm": "default", "redis": None, "name": "vmlab"}
    assert with_redis == {"orm": None, "redis": "redis://127.0.0.1:6379/1", "name": "lab"}


def test_parse_keys_keeps_every_key_in_order():
    first, second, third = (Fernet.generate_key().decode() for _ in range(3))

    assert parse_keys(f"{first},{second},{third}") == (first, second, third)


def test_parse_keys_strips_whitespace_around_keys():
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    assert parse_keys(f"  {first} ,\n {second}\t") == (first, second)


def test_parse_keys_skips_empty_parts():
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    assert parse_keys(f",{first},, ,{second},") == (first, second)


@pytest.mark.parametrize("raw", [None, "", " ", ", ,"])
def test_parse_keys_refuses_no_key_and_says_how_to_make_one(raw):
    with pytest.raises(ImproperlyConfigured, match=r"FIELD_ENCRYPTION_KEYS is not set.*Fernet\.generate_key"):
        parse_keys(raw)


def test_parse_keys_names_the_malformed_key_by_position():
    with pytest.raises(ImproperlyConfigured, match=r"key #2 is not a valid Fernet key"):
        parse_keys(f"{VALID_KEY},{VALID_KEY[:-4]}")


def test_parse_keys_never_echoes_a_malformed_key():
    malformed = "c2VjcmV0LWJ1dC10b28tc2hvcnQ="

    with pytest.raises(ImproperlyConfigured) as excinfo:
        parse_keys(malformed)

    assert malformed not in str(excinfo.value)


def deploy_check(**variables):
    production = {
        "DEBUG": "false",
        "SECRET_KEY": STRONG_SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": VALID_KEY,
        "ALLOWED_HOSTS": "vmlab.example",
    }
    return run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", **{**production, **variables})


def test_production_settings_pass_the_deploy_check():
    result = deploy_check()

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_fails_when_an_operator_turns_https_off():
    result = deploy_check(SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="0")

    assert result.returncode != 0
    assert "security.W008" in result.stderr
    assert "security.W004" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LDAP_ROLE_GROUPS", "regular=cn=students,dc=lab;boss=cn=staff,dc=lab", "'boss' is not a role"),
        ("OIDC_ROLE_MAP", "regular", "'regular' is not of the form role=group"),
        ("LDAP_TIMEOUT", "0", "LDAP_TIMEOUT must be more than 0"),
    ],
)
def test_a_malformed_sign_in_setting_stops_startup_with_a_clear_message(variable, value, message):
    assert message in startup_error(**PRODUCTION, **{variable: value})
