"""The second factor: setting up an authenticator app, the code step of signing in, backup codes, the lockout,
the role that requires one, the Django admin, removal and an admin's reset."""

import hashlib
import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from access.roles import Role
from accounts.models import AuthenticatorApp, BackupCode, BackupCodeDevice, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.two_factor_helpers import authenticator_for, phone_of, with_backup_codes
from audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
CODE_URL = reverse("accounts:second_factor")
TWO_FACTOR_URL = reverse("accounts:two_factor")
TOTP_URL = reverse("accounts:two_factor_totp")
NOW = timezone.now().replace(microsecond=0)


def log_in(client, username, password=DEFAULT_PASSWORD, url=LOGIN_URL, **extra):
    return client.post(url, {"username": username, "password": password, **extra})


def enter_code(client, code):
    return client.post(CODE_URL, {"otp_token": code})


def is_logged_in(client):
    return "_auth_user_id" in client.session


@pytest.fixture
def ada(db):
    return UserFactory(username="ada", role=Role.SIDEKICK)


# Setting up an authenticator app


def test_the_set_up_page_shows_a_qr_code_as_inline_svg_and_the_secret_as_text(client, ada):
    client.force_login(ada)

    response = client.get(TOTP_URL)

    device = AuthenticatorApp.objects.get(user=ada, confirmed=False)
    secret = re.search(r'<code class="secret" id="totp-secret">([A-Z2-7 ]+)</code>', response.text).group(1)
    assert "<svg" in response.text and "<img" not in response.text
    assert pyotp.TOTP(secret.replace(" ", "")).now() == phone_of(device).now()


def test_a_wrong_code_does_not_turn_the_app_on(client, ada):
    client.force_login(ada)
    client.get(TOTP_URL)

    response = client.post(TOTP_URL, {"otp_token": "000000"})

    assert "This code does not match" in response.text
    assert not AuthenticatorApp.objects.filter(user=ada, confirmed=True).exists()


def test_one_valid_code_turns_the_app_on_and_shows_ten_backup_codes_once(client, ada):
    client.force_login(ada)
    client.get(TOTP_URL)
    phone = phone_of(AuthenticatorApp.objects.get(user=ada))

    response = client.post(TOTP_URL, {"otp_token": phone.now()}, follow=True)
    again = client.get(TWO_FACTOR_URL)

    assert "Your authenticator app is set up" in response.text
    codes = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>", response.text)
    assert len(codes) == 10
    assert "vmlab-backup-codes.txt" in response.text
    assert codes[0] not in again.text
    stored = set(BackupCode.objects.filter(device__user=ada).values_list("code_hash", flat=True))
    assert stored == {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes}
    assert is_logged_in(client)
    kinds = [(e.action, e.details) for e in AuditEvent.objects.order_by("pk")]
    assert (Action.TWO_FACTOR_ENROL, {"kind": "totp", "name": "Authenticator app"}) in kinds
    assert (Action.BACKUP_CODES_CREATE, {"count": 10}) in kinds


def test_adding_a_second_factor_ends_the_other_sessions(client, ada):
    other = type(client)()
    other.force_login(ada)
    client.force_login(ada)
    client.get(TOTP_URL)
    phone = phone_of(AuthenticatorApp.objects.get(user=ada))

    client.post(TOTP_URL, {"otp_token": phone.now()})

    assert client.get(reverse("dashboard")).status_code == 200
    assert other.get(reverse("dashboard")).status_code == 302


# Signing in with the second factor


def test_the_password_alone_leads_to_the_code_step_not_into_the_portal(client, ada):
    authenticator_for(ada)

    response = log_in(client, "ada")

    assert response.url == CODE_URL
    assert not is_logged_in(client)
    for page in ("/", reverse("accounts:profile"), reverse("machines:create"), "/admin/", LOGIN_URL, TOTP_URL):
        assert client.get(page).url == CODE_URL, page
    assert 'name="otp_token"' in client.get(CODE_URL).text


def test_the_right_code_signs_in_and_the_login_records_the_second_factor(client, ada):
    phone = authenticator_for(ada)
    log_in(client, "ada", next="/accounts/profile/")

    response = enter_code(client, phone.now())

    assert response.url == "/accounts/profile/"
    assert is_logged_in(client)
    login = AuditEvent.objects.get(action=Action.LOGIN)
    assert (login.details["how"], login.details["second_factor"]) == ("local", "totp")


def test_a_code_cannot_be_used_twice(client, ada):
    phone = authenticator_for(ada)
    with time_machine.travel(NOW, tick=False):
        log_in(client, "ada")
        enter_code(client, phone.now())
        client.post(reverse("accounts:logout"))
        log_in(client, "ada")

        replayed = enter_code(client, phone.now())

    assert "This code is not valid, or was used already" in replayed.text
    assert not is_logged_in(client)


def test_the_previous_code_is_accepted_but_an_older_one_is_not(client, ada):
    phone = authenticator_for(ada)
    with time_machine.travel(NOW, tick=False):
        previous, older = phone.at(NOW - timedelta(seconds=30)), phone.at(NOW - timedelta(seconds=90))
        log_in(client, "ada")
        refused = enter_code(client, older)
        accepted = enter_code(client, previous)

    assert "not valid" in refused.text
    assert accepted.status_code == 302
    assert is_logged_in(client)


def test_five_wrong_codes_lock_the_account_out(client, ada):
    authenticator_for(ada)
    log_in(client, "ada")

    answers = [enter_code(client, "123456").status_code for _ in range(5)]
    login_after = log_in(client, "ada")

    assert answers == [200, 200, 200, 200, 429]
    assert login_after.status_code == 429
    assert not is_logged_in(client)
    failures = AuditEvent.objects.filter(action=Action.LOGIN_FAILED, details__step="second_factor")
    assert failures.count() == 5
    assert AuditEvent.objects.filter(action=Action.LOCKOUT).exists()


def test_a_waiting_code_step_expires_after_five_minutes(client, ada):
    phone = authenticator_for(ada)
    log_in(client, "ada")

    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        response = enter_code(client, phone.now())

    assert response.url == LOGIN_URL
    assert not is_logged_in(client)


def test_cancelling_the_code_step_goes_back_to_the_login_page(client, ada):
    authenticator_for(ada)
    log_in(client, "ada")

    response = client.post(CODE_URL, {"cancel": "1"})

    assert response.url == LOGIN_URL
    assert client.get(LOGIN_URL).status_code == 200


def test_a_backup_code_signs_in_once(client, ada):
    authenticator_for(ada)
    codes = with_backup_codes(ada)
    log_in(client, "ada")
    enter_code(client, codes[3].upper())
    client.post(reverse("accounts:logout"))
    log_in(client, "ada")

    reused = enter_code(client, codes[3])

    assert "not valid" in reused.text
    use = AuditEvent.objects.get(action=Action.BACKUP_CODE_USE)
    assert (use.actor, use.details) == (ada, {"left": 9})
    login = AuditEvent.objects.get(action=Action.LOGIN)
    assert login.details["second_factor"] == "backup_code"


def test_users_without_a_second_factor_sign_in_with_their_password(client, ada):
    assert log_in(client, "ada").url == reverse("dashboard")
    assert is_logged_in(client)


# The role that requires a second factor


def test_a_manager_without_a_second_factor_sees_only_the_set_up_pages(client, settings):
    settings.TWO_FACTOR_REQUIRED_ROLE = Role.MANAGER
    manager = UserFactory(role=Role.MANAGER)
    client.force_login(manager)

    assert client.get(reverse("dashboard")).url == TWO_FACTOR_URL
    assert client.get(reverse("people:user_list")).url == TWO_FACTOR_URL
    assert client.get(TWO_FACTOR_URL).status_code == 200
    assert client.get(TOTP_URL).status_code == 200


def test_below_the_required_role_the_second_factor_stays_optional(client, settings):
    settings.TWO_FACTOR_REQUIRED_ROLE = Role.MANAGER
    client.force_login(UserFactory(role=Role.SIDEKICK))

    assert client.get(reverse("dashboard")).status_code == 200


def test_once_set_up_the_manager_reaches_the_portal(client, settings):
    settings.TWO_FACTOR_REQUIRED_ROLE = Role.MANAGER
    manager = UserFactory(role=Role.MANAGER)
    client.force_login(manager)
    client.get(TOTP_URL)
    phone = phone_of(AuthenticatorApp.objects.get(user=manager))
    client.post(TOTP_URL, {"otp_token": phone.now()})

    assert client.get(reverse("dashboard")).status_code == 200


# The Django admin


def test_the_admin_login_asks_for_the_code_too(client):
    root = UserFactory(username="root", role=Role.ADMIN)
    phone = authenticator_for(root)

    response = log_in(client, "root", url=reverse("admin:login"), next="/admin/")
    assert response.url == CODE_URL
    assert client.get("/admin/").url == CODE_URL
    done = enter_code(client, phone.now())

    assert done.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_an_admin_session_that_skipped_its_second_factor_is_not_let_into_the_admin(client):
    root = UserFactory(username="root", role=Role.ADMIN)
    authenticator_for(root)
    client.force_login(root)  # a session without the second factor

    assert client.get("/admin/").url.startswith(reverse("admin:login"))


def test_an_admin_resets_the_second_factors_of_a_user_who_lost_their_phone(admin_client, ada):
    authenticator_for(ada)
    with_backup_codes(ada)
    ada_browser = type(admin_client)()
    ada_browser.force_login(ada)

    response = admin_client.post(
        reverse("admin:accounts_user_changelist"), {"action": "reset_two_factor", "_selected_action": [ada.pk]}
    )

    assert response.status_code == 302
    assert not AuthenticatorApp.objects.filter(user=ada).exists()
    assert not BackupCodeDevice.objects.filter(user=ada).exists()
    reset = AuditEvent.objects.get(action=Action.TWO_FACTOR_RESET)
    assert (reset.actor.username, reset.details) == ("root-admin", {"removed": 1, "via": "admin"})
    assert ada_browser.get(reverse("dashboard")).status_code == 302
    assert log_in(type(admin_client)(), "ada").url == reverse("dashboard")


# Removing a second factor, new backup codes


def device_key(user):
    return f"totp:{AuthenticatorApp.objects.get(user=user, confirmed=True).pk}"


def test_removing_an_app_needs_the_password_and_a_code(client, ada):
    phone = authenticator_for(ada)
    with_backup_codes(ada)
    client.force_login(ada)
    url = reverse("accounts:two_factor_remove")

    wrong = client.post(
        url, {"device": device_key(ada), "password": DEFAULT_PASSWORD, "otp_token": "000000"}, follow=True
    )
    right = client.post(
        url, {"device": device_key(ada), "password": DEFAULT_PASSWORD, "otp_token": phone.now()}, follow=True
    )

    assert "This code is not valid" in wrong.text
    assert "removed" in right.text
    assert not AuthenticatorApp.objects.filter(user=ada).exists()
    assert not BackupCodeDevice.objects.filter(user=ada).exists()
    assert AuditEvent.objects.get(action=Action.TWO_FACTOR_REMOVE).details == {"kind": "totp", "name": "Phone"}


def test_nobody_removes_another_users_second_factor(client, ada):
    authenticator_for(ada)
    intruder = UserFactory()
    client.force_login(intruder)

    response = client.post(
        reverse("accounts:two_factor_remove"), {"device": device_key(ada), "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 404
    assert AuthenticatorApp.objects.filter(user=ada).exists()


def test_new_backup_codes_replace_the_old_ones(client, ada):
    phone = authenticator_for(ada)
    old = with_backup_codes(ada)
    client.force_login(ada)

    response = client.post(
        reverse("accounts:two_factor_backup_codes"),
        {"password": DEFAULT_PASSWORD, "otp_token": phone.now()},
        follow=True,
    )

    new = re.findall(r"<li><code>([a-z2-7-]{19})</code></li>", response.text)
    assert len(new) == 10 and not set(new) & set(old)
    assert BackupCode.objects.filter(device__user=ada).count() == 10


def test_the_profile_lists_second_factors_and_recent_sign_ins(client, ada):
    phone = authenticator_for(ada)
    log_in(client, "ada")
    enter_code(client, phone.now())

    response = client.get(reverse("accounts:profile"))

    assert "Authenticator app: Phone" in response.text
    assert "VM Lab password" in response.text
    assert "127.0.0.1" in response.text


def test_the_user_model_keeps_no_code(ada):
    codes = with_backup_codes(ada)
    assert not User.objects.filter(password__contains=codes[0]).exists()
    assert not BackupCode.objects.filter(code_hash__contains=codes[0].replace("-", "")).exists()


def test_typed_codes_are_masked_in_the_lockout_records_and_kept_out_of_the_audit_trail(client, ada):
    from axes.models import AccessAttempt

    authenticator_for(ada)
    codes = with_backup_codes(ada)
    log_in(client, "ada")
    enter_code(client, "424242")
    attempt = AccessAttempt.objects.get()
    enter_code(client, codes[0])

    assert "424242" not in attempt.post_data
    assert is_logged_in(client)
    trail = " ".join(str(event.details) for event in AuditEvent.objects.all())
    assert "424242" not in trail
    assert codes[0] not in trail and codes[0].replace("-", "") not in trail


def test_the_django_admin_lists_authenticator_apps_without_their_secrets(admin_client, ada, decrypt_calls):
    device = AuthenticatorApp.objects.create(user=ada, name="Ada's phone", confirmed=True)
    seed, secret = device.seed, device.base32_seed
    decrypt_calls.clear()

    listed = admin_client.get(reverse("admin:accounts_authenticatorapp_changelist"))
    shown = admin_client.get(reverse("admin:accounts_authenticatorapp_change", args=[device.pk]))
    user_page = admin_client.get(reverse("admin:accounts_user_change", args=[ada.pk]))

    assert "Ada&#x27;s phone" in listed.text and "ada" in listed.text
    assert shown.status_code == 200
    for page in (listed, shown, user_page):
        assert seed not in page.text and secret not in page.text
    assert decrypt_calls == []
    assert admin_client.get(reverse("admin:accounts_authenticatorapp_add")).status_code == 403
