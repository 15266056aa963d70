import datetime

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.urls import reverse
from django.utils import timezone

from access.roles import Role
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.two_factor_helpers import authenticator_for
from api.tests.conftest import bearer
from audit.models import Action, AuditEvent
from machines import services as machine_services
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(sidekick):
    return VirtualMachineFactory(owner=sidekick, password="the-vm-password")


def reveal(client, vm, password=DEFAULT_PASSWORD, **extra):
    return client.post(f"/api/v1/vms/{vm.pk}/reveal/", {"password": password, "secret": "password", **extra}, "json")


def test_the_right_password_reveals_the_secret_uncached_and_audited(sidekick, vm):
    response = reveal(bearer(sidekick), vm, otp_token="")

    assert response.json() == {"secret": "password", "value": "the-vm-password"}
    assert response["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(action=Action.SECRET_REVEAL, actor=sidekick).exists()


def test_no_other_endpoint_returns_the_secret(sidekick, vm):
    client = bearer(sidekick)

    for url in ("/api/v1/vms/", f"/api/v1/vms/{vm.pk}/", "/api/v1/vms/ssh-config/"):
        assert "the-vm-password" not in client.get(url).text


def test_the_page_and_the_api_share_one_reveal_limit(client, sidekick, vm, settings):
    settings.REVEAL_RATE_LIMIT = 2
    client.force_login(sidekick)
    client.post(reverse("machines:reveal", args=[vm.pk]), {"secret": "password", "account_password": "wrong"})
    reveal(bearer(sidekick), vm, "wrong")

    response = reveal(bearer(sidekick), vm)

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert response["Retry-After"] == "60"


def test_wrong_passwords_through_the_api_lock_the_account_like_the_login(client, sidekick, vm, settings):
    settings.REVEAL_RATE_LIMIT = 100
    api = bearer(sidekick)

    statuses = [reveal(api, vm, "wrong").status_code for _ in range(5)]

    assert statuses == [400, 400, 400, 400, 429]
    assert reveal(api, vm).status_code == 429  # the right password is not even checked now
    locked = client.post(reverse("accounts:login"), {"username": sidekick.username, "password": DEFAULT_PASSWORD})
    assert locked.status_code == 429


def test_a_stale_update_is_a_409_with_the_current_values_and_writes_nothing(sidekick, vm):
    client = bearer(sidekick)
    client.patch(f"/api/v1/vms/{vm.pk}/", {"name": "theirs"}, format="json")

    response = client.patch(f"/api/v1/vms/{vm.pk}/", {"name": "mine", "version": 1}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["current"]["name"] == "theirs"
    assert "password" not in response.json()["error"]["current"]
    assert client.patch(f"/api/v1/vms/{vm.pk}/", {"name": "mine", "version": 2}, format="json").status_code == 200


def test_bad_input_is_a_400_naming_the_fields(sidekick):
    response = bearer(sidekick).post(
        "/api/v1/vms/", {"name": "x", "host": "not a host", "port": 70000, "username": "u"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"port"}


def test_a_body_over_max_request_body_is_a_413_in_json(sidekick, settings):
    settings.MAX_REQUEST_BODY = 100

    response = bearer(sidekick).post("/api/v1/bookmarks/", {"name": "x" * 500}, format="json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_an_unknown_api_address_is_a_json_404(sidekick):
    response = bearer(sidekick).get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_api_address_with_a_line_break_is_a_json_404_too(sidekick):
    """Found by schemathesis: /api/v1/tokens/%0Ah/ fell through to the portal's HTML page."""
    response = bearer(sidekick).get("/api/v1/tokens/%0Ah/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_filter_value_that_is_neither_true_nor_false_is_refused_not_ignored(sidekick):
    response = bearer(sidekick).get("/api/v1/vms/", {"shared": "perhaps"})

    assert response.status_code == 400
    assert "shared" in response.json()["error"]["fields"]


def test_revealing_a_secret_the_vm_has_not_names_the_field(sidekick, vm):
    response = bearer(sidekick).post(
        f"/api/v1/vms/{vm.pk}/reveal/", {"password": DEFAULT_PASSWORD, "secret": "ssh_key"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"secret": ["This VM has no SSH key."]}


def test_a_user_with_a_second_factor_reveals_through_the_api_with_password_and_code(sidekick, vm):
    phone = authenticator_for(sidekick)
    client = bearer(sidekick)

    without_code = reveal(client, vm)
    wrong_code = reveal(client, vm, otp_token="000000" if phone.now() != "000000" else "111111")
    right_code = reveal(client, vm, otp_token=phone.now())

    assert (without_code.status_code, list(without_code.json()["error"]["fields"])) == (400, ["otp_token"])
    assert (wrong_code.status_code, list(wrong_code.json()["error"]["fields"])) == (400, ["otp_token"])
    assert right_code.json() == {"secret": "password", "value": "the-vm-password"}


def test_a_vm_whose_assignment_ended_is_gone_from_the_api_too(regular):
    owner = UserFactory(role=Role.MANAGER)
    vm = VirtualMachineFactory(owner=owner, password="the-vm-password")
    with time_machine.travel(timezone.now() - datetime.timedelta(hours=2)):
        # Assigned two hours ago until one hour ago: the database's clock is past the end.
        until = timezone.now() + datetime.timedelta(hours=1)
        machine_services.vm_assign(vm=vm, actor=owner, assignee=regular, until=until)
    client = bearer(regular)

    assert client.get(f"/api/v1/vms/{vm.pk}/").status_code == 404
    assert client.get("/api/v1/vms/").json()["results"] == []
    assert reveal(client, vm).status_code == 404


def test_an_authenticator_app_under_a_lost_key_is_a_400_that_says_what_to_do(sidekick, vm, settings):
    phone = authenticator_for(sidekick)
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)

    response = reveal(bearer(sidekick), vm, otp_token=phone.now())

    assert response.status_code == 400
    (message,) = response.json()["error"]["fields"]["otp_token"]
    assert message.startswith("This authenticator app cannot be checked right now: use a backup code")
    assert AuditEvent.objects.get(action=Action.SECRET_REVEAL_DENIED).details["reason"] == "authenticator_unreadable"
