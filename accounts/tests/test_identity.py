"""Confirming who is at the keyboard before revealing a secret (accounts.identity.confirm_identity), through the
reveal page: password, plus a code when the user has a second factor; OIDC accounts confirm with the code alone."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from access.roles import Role
from accounts import identity
from accounts.models import SignIn
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.two_factor_helpers import authenticator_for, stored_passkey_for, with_backup_codes
from accounts.two_factor import passkey_confirmation
from audit.models import Action, AuditEvent
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

VM_PASSWORD = "vm pass 77!"


@pytest.fixture
def ada(db):
    return UserFactory(username="ada", role=Role.REGULAR)


@pytest.fixture
def vm(ada):
    return VirtualMachineFactory(assigned_to=ada, password=VM_PASSWORD)


def reveal(client, vm, **fields):
    return client.post(reverse("machines:reveal", args=[vm.pk]), {"secret": "password", **fields})


def test_without_a_second_factor_the_password_is_enough(client, ada, vm):
    client.force_login(ada)

    page = client.get(reverse("machines:reveal", args=[vm.pk]))
    response = reveal(client, vm, account_password=DEFAULT_PASSWORD)

    assert 'name="otp_token"' not in page.text
    assert VM_PASSWORD in response.text


def test_with_a_second_factor_the_page_asks_for_a_code_and_needs_it(client, ada, vm):
    phone = authenticator_for(ada)
    client.force_login(ada)

    page = client.get(reverse("machines:reveal", args=[vm.pk]))
    missing = reveal(client, vm, account_password=DEFAULT_PASSWORD)
    wrong = reveal(client, vm, account_password=DEFAULT_PASSWORD, otp_token="000000")
    right = reveal(client, vm, account_password=DEFAULT_PASSWORD, otp_token=phone.now())

    assert 'name="otp_token"' in page.text
    assert "Enter a code of your authenticator app" in missing.text
    assert "This code is not valid" in wrong.text
    assert VM_PASSWORD not in missing.text + wrong.text
    assert VM_PASSWORD in right.text
    reasons = list(
        AuditEvent.objects.filter(action=Action.SECRET_REVEAL_DENIED).values_list("details__reason", flat=True)
    )
    assert reasons == ["wrong_code"]


def test_a_wrong_password_is_refused_before_the_code_is_used(client, ada, vm):
    authenticator_for(ada)
    codes = with_backup_codes(ada)
    client.force_login(ada)

    refused = reveal(client, vm, account_password="guess", otp_token=codes[0])
    accepted = reveal(client, vm, account_password=DEFAULT_PASSWORD, otp_token=codes[0])

    assert "Your password is not correct." in refused.text
    assert VM_PASSWORD in accepted.text


def test_wrong_codes_at_the_reveal_form_count_toward_the_lockout(client, ada, vm, settings):
    settings.REVEAL_RATE_LIMIT = 100
    authenticator_for(ada)
    client.force_login(ada)

    answers = [reveal(client, vm, account_password=DEFAULT_PASSWORD, otp_token="111111").status_code for _ in range(5)]

    assert answers == [200, 200, 200, 200, 429]


def test_an_oidc_account_without_a_second_factor_cannot_reveal(client, vm, ada):
    ada.sign_in = SignIn.OIDC
    ada.set_unusable_password()
    ada.save()
    client.force_login(ada)

    page = client.get(reverse("machines:reveal", args=[vm.pk]))
    response = reveal(client, vm)

    assert 'name="account_password"' not in page.text
    assert "set up a second factor" in response.text
    assert VM_PASSWORD not in response.text


def test_an_oidc_account_reveals_with_its_code_alone(client, vm, ada):
    ada.sign_in = SignIn.OIDC
    ada.set_unusable_password()
    ada.save()
    phone = authenticator_for(ada)
    client.force_login(ada)

    response = reveal(client, vm, otp_token=phone.now())

    assert VM_PASSWORD in response.text


def test_confirm_identity_says_how_and_why(ada):
    assert identity.confirm_identity(user=ada, password=DEFAULT_PASSWORD) == "password"
    with pytest.raises(identity.IdentityRefused) as refusal:
        identity.confirm_identity(user=ada, password="nope")
    assert (refusal.value.reason, refusal.value.counts_as_failure) == (identity.WRONG_PASSWORD, True)

    phone = authenticator_for(ada)
    with pytest.raises(identity.IdentityRefused) as refusal:
        identity.confirm_identity(user=ada, password=DEFAULT_PASSWORD)
    assert (refusal.value.reason, refusal.value.counts_as_failure) == (identity.CODE_NEEDED, False)
    assert identity.confirm_identity(user=ada, password=DEFAULT_PASSWORD, otp_token=phone.now()) == "password+code"


def test_a_passkey_just_used_stands_for_the_code(ada):
    authenticator_for(ada)

    assert identity.confirm_identity(user=ada, password=DEFAULT_PASSWORD, passkey_confirmed=True) == "password+passkey"
    with pytest.raises(identity.IdentityRefused):
        identity.confirm_identity(user=ada, password="nope", passkey_confirmed=True)


def test_the_reveal_page_offers_a_passkey_to_whoever_has_one(client, ada, vm):
    stored_passkey_for(ada)
    client.force_login(ada)

    page = client.get(reverse("machines:reveal", args=[vm.pk]))

    assert "passkey-verification-placeholder" in page.text
    assert reverse("otp_webauthn:confirmation-complete") in page.text
    assert 'name="otp_token"' in page.text  # a backup code works too


def passkey_just_used(client):
    """What the confirmation endpoint leaves in the session once the browser's passkey verified."""
    session = client.session
    passkey_confirmation.remember(SimpleNamespace(session=session))
    session.save()


def test_a_passkey_confirmation_on_the_reveal_page_serves_one_reveal(client, ada, vm):
    stored_passkey_for(ada)
    client.force_login(ada)
    passkey_just_used(client)

    page = client.get(reverse("machines:reveal", args=[vm.pk]))
    wrong = reveal(client, vm, account_password="guess")
    right = reveal(client, vm, account_password=DEFAULT_PASSWORD)
    again = reveal(client, vm, account_password=DEFAULT_PASSWORD)

    assert "Passkey confirmed" in page.text and 'name="otp_token"' not in page.text
    assert "Your password is not correct." in wrong.text
    assert VM_PASSWORD in right.text
    assert "Enter a code of your authenticator app" in again.text


def test_a_passkey_confirmation_lasts_two_minutes(client, ada, vm):
    stored_passkey_for(ada)
    client.force_login(ada)
    passkey_just_used(client)

    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        response = reveal(client, vm, account_password=DEFAULT_PASSWORD)

    assert "Enter a code of your authenticator app" in response.text
    assert VM_PASSWORD not in response.text
