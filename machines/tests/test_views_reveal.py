import pytest
from django.urls import reverse
from django.views.debug import SafeExceptionReporterFilter

from access.roles import Role
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from audit.models import Action, AuditEvent
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

VM_PASSWORD = "reveal-me-vm-password-77"


def reveal_url(vm):
    return reverse("machines:reveal", args=[vm.pk])


@pytest.fixture
def vm(owner, ssh_private_key):
    return VirtualMachineFactory(owner=owner, name="lab-db", password=VM_PASSWORD, ssh_key=ssh_private_key)


def reveal(client, vm, field="password", account_password=DEFAULT_PASSWORD):
    return client.post(reveal_url(vm), {"secret": field, "account_password": account_password})


def test_the_reveal_form_offers_the_secrets_that_are_set_and_shows_none(client, vm, ssh_private_key):
    response = client.get(reveal_url(vm))

    assert response.status_code == 200
    assert 'value="password"' in response.text and 'value="ssh_key"' in response.text
    assert 'name="account_password"' in response.text
    assert VM_PASSWORD not in response.text
    assert ssh_private_key.splitlines()[1] not in response.text


def test_only_the_password_is_offered_when_no_key_is_set(client, owner):
    vm = VirtualMachineFactory(owner=owner, password=VM_PASSWORD)

    response = client.get(reveal_url(vm))

    assert 'value="password"' in response.text
    assert 'value="ssh_key"' not in response.text


def test_a_vm_without_secrets_has_nothing_to_reveal(client, owner):
    vm = VirtualMachineFactory(owner=owner)

    response = client.get(reveal_url(vm))

    assert "This VM has no password or SSH key to reveal." in response.text
    assert 'name="account_password"' not in response.text


def test_the_right_password_shows_the_vm_password_once_uncached_and_records_it(client, vm, owner):
    response = reveal(client, vm)

    assert response.status_code == 200
    assert f'<code class="secret" id="vm-password">{VM_PASSWORD}</code>' in response.text
    assert 'data-copy="vm-password"' in response.text
    assert response["Cache-Control"] == "no-store"
    event = AuditEvent.objects.get(action=Action.SECRET_REVEAL)
    assert (event.actor, event.target_id, event.details) == (owner, str(vm.pk), {"field": "password"})
    assert event.ip == "127.0.0.1"
    # Nothing keeps it: the next page view does not show it again.
    assert VM_PASSWORD not in client.get(reverse("machines:detail", args=[vm.pk])).text


def test_the_ssh_key_is_revealed_as_a_file_download(client, vm, ssh_private_key):
    response = reveal(client, vm, field="ssh_key")

    assert response.status_code == 200
    assert response.content.decode() == ssh_private_key
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="lab-db_id"'
    assert response["Cache-Control"] == "no-store"
    assert AuditEvent.objects.get(action=Action.SECRET_REVEAL).details == {"field": "ssh_key"}


def test_a_wrong_password_reveals_nothing_and_is_recorded(client, vm, owner):
    response = reveal(client, vm, account_password="not my password")

    assert response.status_code == 200
    assert "Your password is not correct." in response.text
    assert VM_PASSWORD not in response.text
    assert "not my password" not in response.text
    event = AuditEvent.objects.get(action=Action.SECRET_REVEAL_DENIED)
    assert (event.actor, event.details) == (owner, {"field": "password", "reason": "wrong_password"})
    assert not AuditEvent.objects.filter(action=Action.SECRET_REVEAL).exists()


def test_the_vm_password_does_not_unlock_the_reveal(client, vm):
    response = reveal(client, vm, account_password=VM_PASSWORD)

    assert "Your password is not correct." in response.text
    assert f">{VM_PASSWORD}<" not in response.text


def test_a_secret_that_is_not_set_cannot_be_chosen(client, owner):
    vm = VirtualMachineFactory(owner=owner, password=VM_PASSWORD)

    response = reveal(client, vm, field="ssh_key")

    assert "Select a valid choice." in response.text
    assert not AuditEvent.objects.exclude(action=Action.LOGIN).exists()


def test_the_sixth_attempt_in_a_minute_is_refused_with_429(client, vm, settings):
    settings.AXES_FAILURE_LIMIT = 10  # the lockout after wrong passwords is tested in test_lockout.py
    for _attempt in range(5):
        assert reveal(client, vm, account_password="wrong").status_code == 200

    response = reveal(client, vm)

    assert response.status_code == 429
    assert "Too many attempts, wait a minute and try again." in response.text
    assert VM_PASSWORD not in response.text
    assert AuditEvent.objects.filter(action=Action.SECRET_REVEAL_DENIED).count() == 5
    assert not AuditEvent.objects.filter(action=Action.SECRET_REVEAL).exists()


def test_successful_reveals_count_towards_the_limit_too(client, vm, settings):
    settings.REVEAL_RATE_LIMIT = 2
    assert reveal(client, vm).status_code == 200
    assert reveal(client, vm).status_code == 200

    assert reveal(client, vm).status_code == 429


def test_the_limit_is_per_user(client, vm, settings):
    settings.REVEAL_RATE_LIMIT = 1
    reveal(client, vm, account_password="wrong")
    assert reveal(client, vm).status_code == 429
    regular = UserFactory(role=Role.REGULAR)
    vm.assigned_to = regular
    vm.save()
    client.force_login(regular)

    assert reveal(client, vm).status_code == 200


def test_the_assigned_regular_user_may_reveal(client, vm):
    regular = UserFactory(role=Role.REGULAR)
    vm.assigned_to = regular
    vm.save()
    client.force_login(regular)

    response = reveal(client, vm)

    assert VM_PASSWORD in response.text
    assert AuditEvent.objects.get(action=Action.SECRET_REVEAL).actor == regular


def test_a_manager_may_reveal_a_shared_vm_of_someone_else(client, vm):
    vm.shared = True
    vm.save()
    client.force_login(UserFactory(role=Role.MANAGER))

    assert VM_PASSWORD in reveal(client, vm).text


def test_the_typed_account_password_is_hidden_from_error_reports(client, vm):
    request = reveal(client, vm).wsgi_request

    cleansed = SafeExceptionReporterFilter().get_post_parameters(request)
    assert cleansed["account_password"] != DEFAULT_PASSWORD
    assert cleansed["secret"] == "password"
