"""Authenticator apps (accounts.AuthenticatorApp): the seed encrypted at rest, codes checked as a phone makes them,
no replay, a lost key, key rotation, the set-up page, and pages that list apps without decrypting a seed."""

import io
import logging
import re
from base64 import b32encode
from datetime import timedelta

import pyotp
import pytest
import time_machine
from axes.models import AccessAttempt
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access.roles import Role
from accounts.models import AuthenticatorApp
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.two_factor_helpers import authenticator_for, phone_of, with_backup_codes
from accounts.two_factor.verification import verify_code
from audit.models import Action, AuditEvent
from machines.tests.factories import VirtualMachineFactory
from vmlab.core import crypto

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
CODE_URL = reverse("accounts:second_factor")
TOTP_URL = reverse("accounts:two_factor_totp")
NOW = timezone.now().replace(microsecond=0)
CANNOT_CHECK = "This authenticator app cannot be checked right now: use a backup code or ask an admin to reset your"


@pytest.fixture
def ada(db):
    return UserFactory(username="ada", role=Role.SIDEKICK)


def stored_seed(app) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT seed FROM accounts_authenticatorapp WHERE id = %s", [app.pk])
        return cursor.fetchone()[0]


def fingerprints_of(app) -> list[str]:
    """The seed in every form it could leak in: hex, base32, and the base32 a person reads in groups of four."""
    secret = app.base32_seed
    return [app.seed, secret, " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))]


def lose_the_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)


def log_in_with_code(client, username, code):
    client.post(LOGIN_URL, {"username": username, "password": DEFAULT_PASSWORD})
    return client.post(CODE_URL, {"otp_token": code})


def is_logged_in(client):
    return "_auth_user_id" in client.session


# At rest


def test_the_seed_is_stored_as_a_fernet_token_that_the_key_decrypts(ada, settings):
    app = AuthenticatorApp.objects.create(user=ada, name="Phone", confirmed=True)

    token = stored_seed(app)

    assert crypto.looks_like_token(token) and token.startswith("gAAAAA")
    assert not any(form.lower() in token.lower() for form in fingerprints_of(app))
    assert Fernet(settings.FIELD_ENCRYPTION_KEYS[0]).decrypt(token.encode()).decode() == app.seed
    assert re.fullmatch(r"[0-9a-f]{40}", app.seed)


def test_dumpdata_holds_the_token_not_the_seed_and_a_restored_dump_still_checks_codes(ada, tmp_path):
    phone = authenticator_for(ada)
    app = AuthenticatorApp.objects.get(user=ada)
    dump = tmp_path / "accounts.json"

    call_command("dumpdata", "accounts", output=str(dump))
    AuthenticatorApp.objects.all().delete()
    call_command("loaddata", str(dump), verbosity=0)

    text = dump.read_text()
    (dumped,) = re.findall(r'"seed": "([^"]+)"', text)
    assert crypto.looks_like_token(dumped) and crypto.decrypt(dumped) == app.seed
    assert not any(form.lower() in text.lower() for form in fingerprints_of(app))
    assert AuthenticatorApp.objects.get(pk=app.pk).verify_token(phone.now())


# Checking codes


def test_codes_a_phone_computes_with_pyotp_verify(ada):
    phone = authenticator_for(ada)
    app = AuthenticatorApp.objects.get(user=ada)

    assert not app.verify_token("000000" if phone.now() != "000000" else "111111")
    assert app.verify_token(phone.now())
    assert AuthenticatorApp.objects.get(pk=app.pk).last_used_at is not None


def test_the_qr_code_uri_carries_the_same_secret_the_page_shows(ada):
    app = AuthenticatorApp.objects.create(user=ada, name="Phone", confirmed=False)

    parsed = pyotp.parse_uri(app.config_url)

    assert (parsed.secret, parsed.issuer, parsed.name) == (app.base32_seed, "VM Lab", "VM Lab:ada")
    assert (parsed.digits, parsed.interval) == (6, 30)
    assert app.base32_seed == b32encode(bytes.fromhex(app.seed)).decode().rstrip("=")


def test_a_code_is_refused_when_replayed_within_its_time_step(ada):
    phone = authenticator_for(ada)
    app = AuthenticatorApp.objects.get(user=ada)
    step_start = NOW - timedelta(seconds=NOW.timestamp() % 30)

    with time_machine.travel(step_start, tick=False):
        code = phone.now()
        first = verify_code(ada, code)
    with time_machine.travel(step_start + timedelta(seconds=20), tick=False):
        replayed = verify_code(ada, code)
    with time_machine.travel(step_start + timedelta(seconds=30), tick=False):
        next_step = verify_code(ada, phone.now())

    assert first == app
    assert replayed is None
    assert next_step == app


def test_codes_one_step_off_are_accepted_and_two_steps_off_are_not(ada):
    phone = authenticator_for(ada)
    app = AuthenticatorApp.objects.get(user=ada)

    with time_machine.travel(NOW, tick=False):
        two_ahead = app.verify_token(phone.at(NOW + timedelta(seconds=60)))
        one_behind = app.verify_token(phone.at(NOW - timedelta(seconds=30)))

    assert not two_ahead
    assert one_behind


def test_the_drift_learned_from_a_phone_running_ahead_lets_it_sign_in_when_it_runs_further_ahead(ada):
    phone = authenticator_for(ada)

    with time_machine.travel(NOW, tick=False):
        assert verify_code(ada, phone.at(NOW + timedelta(seconds=30)))
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        two_steps_ahead = verify_code(ada, phone.at(NOW + timedelta(minutes=5, seconds=60)))

    assert two_steps_ahead is not None
    assert AuthenticatorApp.objects.get(user=ada).drift == 2


def test_verify_token_asks_verify_is_allowed_first(ada, monkeypatch):
    phone = authenticator_for(ada)
    app = AuthenticatorApp.objects.get(user=ada)
    monkeypatch.setattr(AuthenticatorApp, "verify_is_allowed", lambda device: (False, {"error_message": "no"}))

    assert not app.verify_token(phone.now())
    assert AuthenticatorApp.objects.get(pk=app.pk).last_t == -1


def test_an_app_not_turned_on_yet_signs_nobody_in(ada):
    app = AuthenticatorApp.objects.create(user=ada, name="Phone", confirmed=False)

    assert verify_code(ada, phone_of(app).now()) is None


# A lost key


def test_a_lost_key_refuses_the_code_step_with_a_clear_message_and_a_logged_error(client, ada, settings, caplog):
    phone = authenticator_for(ada)
    app = AuthenticatorApp.objects.get(user=ada)
    seed = app.seed
    lose_the_key(settings)

    with caplog.at_level(logging.ERROR, logger="accounts.two_factor.verification"):
        response = log_in_with_code(client, "ada", phone.now())

    assert response.status_code == 200
    assert CANNOT_CHECK in response.text
    assert not is_logged_in(client)
    (record,) = [r for r in caplog.records if r.name == "accounts.two_factor.verification"]
    assert record.levelno == logging.ERROR
    assert f"Authenticator app #{app.pk} of user ada cannot check codes" in record.getMessage()
    assert "FIELD_ENCRYPTION_KEYS" in record.getMessage() and seed not in record.getMessage()
    failed = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
    assert failed.details["reason"] == "authenticator_unreadable"
    assert not AccessAttempt.objects.exists()  # no code can pass that app: trying one is not counted


def test_with_a_lost_key_a_backup_code_still_signs_in(client, ada, settings):
    phone = authenticator_for(ada)
    codes = with_backup_codes(ada)
    lose_the_key(settings)
    log_in_with_code(client, "ada", phone.now())

    response = client.post(CODE_URL, {"otp_token": codes[0]})

    assert response.status_code == 302
    assert is_logged_in(client)


def test_with_a_lost_key_another_app_still_signs_in_and_a_wrong_code_counts(client, ada, settings):
    authenticator_for(ada)  # under the key about to be lost
    lose_the_key(settings)
    second_phone = authenticator_for(ada)
    wrong = "000000" if second_phone.now() != "000000" else "111111"

    refused = log_in_with_code(client, "ada", wrong)
    failures = AccessAttempt.objects.get().failures_since_start
    accepted = client.post(CODE_URL, {"otp_token": second_phone.now()})

    assert CANNOT_CHECK in refused.text
    assert failures == 1  # the other app could check the code, and refused it
    assert accepted.status_code == 302 and is_logged_in(client)


def test_a_lost_key_refuses_a_reveal_with_the_same_message_and_reveals_nothing(client, ada, settings):
    phone = authenticator_for(ada)
    vm = VirtualMachineFactory(owner=ada, password="gpu-box-pass")
    client.force_login(ada)
    lose_the_key(settings)

    response = client.post(
        reverse("machines:reveal", args=[vm.pk]),
        {"secret": "password", "account_password": DEFAULT_PASSWORD, "otp_token": phone.now()},
    )

    assert response.status_code == 200
    assert CANNOT_CHECK in response.text
    assert "gpu-box-pass" not in response.text
    denied = AuditEvent.objects.get(action=Action.SECRET_REVEAL_DENIED)
    assert denied.details["reason"] == "authenticator_unreadable"


# Key rotation


def test_rotate_encryption_keys_re_encrypts_seeds_and_counts_them(ada, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    phone = authenticator_for(ada)
    app = AuthenticatorApp.objects.get(user=ada)
    seed = app.seed
    settings.FIELD_ENCRYPTION_KEYS = (new_key, old_key)

    dry_run = io.StringIO()
    call_command("rotate_encryption_keys", "--dry-run", stdout=dry_run)
    run = io.StringIO()
    call_command("rotate_encryption_keys", stdout=run)
    settings.FIELD_ENCRYPTION_KEYS = (new_key,)

    counted = dry_run.getvalue().splitlines()
    assert counted[0] == "accounts.AuthenticatorApp: 1 rows read in 1 batch(es), 0 without secrets, 1 to rewrite."
    assert counted[2].startswith("  key #2 (sha256 ") and counted[2].endswith("): 1 rows, 1 secrets")
    assert "accounts.AuthenticatorApp: 1 of 1 rows rewritten in 1 batch(es)." in run.getvalue()
    assert Fernet(new_key).decrypt(stored_seed(app).encode()).decode() == seed
    assert AuthenticatorApp.objects.get(pk=app.pk).verify_token(phone.now())


# The set-up page


def test_the_set_up_page_shows_the_secret_uncached_and_no_page_shows_it_once_the_app_is_on(client, ada):
    client.force_login(ada)
    set_up = client.get(TOTP_URL)
    app = AuthenticatorApp.objects.get(user=ada)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)</code>', set_up.text).group(1)

    client.post(TOTP_URL, {"otp_token": phone_of(app).now()})
    later = [client.get(url) for url in (reverse("accounts:two_factor"), reverse("accounts:profile"), TOTP_URL)]

    assert secret.replace(" ", "") == app.base32_seed
    assert set_up["Cache-Control"] == "no-store"
    assert "<svg" in set_up.text
    for page in later:
        assert page.status_code == 200
        assert not any(form in page.text for form in fingerprints_of(app))


def test_a_set_up_begun_under_a_lost_key_starts_again_with_a_new_secret(client, ada, settings):
    client.force_login(ada)
    client.get(TOTP_URL)
    first = AuthenticatorApp.objects.get(user=ada)
    lose_the_key(settings)

    response = client.get(TOTP_URL, follow=True)

    assert "Start again: this set-up had expired." in response.text
    fresh = AuthenticatorApp.objects.get(user=ada)
    assert fresh.pk != first.pk
    shown = re.search(r'id="totp-secret">([A-Z2-7 ]+)</code>', response.text).group(1)
    assert shown.replace(" ", "") == fresh.base32_seed


# Lists decrypt nothing


@pytest.mark.parametrize("page", ["accounts:profile", "accounts:two_factor"])
def test_the_users_pages_list_their_apps_without_decrypting_a_seed(client, ada, decrypt_calls, page):
    for _ in range(3):
        authenticator_for(ada)
    client.force_login(ada)
    decrypt_calls.clear()

    response = client.get(reverse(page))

    assert response.text.count("Phone") >= 3
    assert decrypt_calls == []


def test_the_profile_lists_2n_apps_with_as_many_queries_as_n(client, ada):
    client.force_login(ada)

    def queries_with(count):
        AuthenticatorApp.objects.all().delete()
        for number in range(count):
            AuthenticatorApp.objects.create(user=ada, name=f"Phone {number}", confirmed=True)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("accounts:profile")).status_code == 200
        return len(queries)

    assert queries_with(3) == queries_with(6)


def test_the_django_admin_lists_2n_apps_of_2n_people_with_as_many_queries_as_n(admin_client, decrypt_calls):
    def queries_with(count):
        AuthenticatorApp.objects.all().delete()
        for _ in range(count):
            AuthenticatorApp.objects.create(user=UserFactory(), name="Phone", confirmed=True)
        decrypt_calls.clear()
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(reverse("admin:accounts_authenticatorapp_changelist")).status_code == 200
        return len(queries)

    assert queries_with(3) == queries_with(6)
    assert decrypt_calls == []


# What django-otp's otp_totp left behind


@pytest.mark.django_db(transaction=True)
def test_migrating_drops_a_table_otp_totp_left_with_seeds_in_clear():
    call_command("migrate", "accounts", "0006", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE otp_totp_totpdevice (id integer PRIMARY KEY, key varchar(80) NOT NULL)")
        cursor.execute("INSERT INTO otp_totp_totpdevice VALUES (1, '3132333435363738393031323334353637383930')")
    MigrationRecorder(connection).record_applied("otp_totp", "0001_initial")

    call_command("migrate", "accounts", verbosity=0)

    tables = connection.introspection.table_names()
    assert "otp_totp_totpdevice" not in tables
    assert "accounts_authenticatorapp" in tables
    assert not MigrationRecorder(connection).migration_qs.filter(app="otp_totp").exists()
