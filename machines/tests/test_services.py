import json

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import PermissionDenied, ValidationError

from access.roles import Role
from accounts.identity import IdentityRefused
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from audit.models import Action, AuditEvent
from machines import services
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory
from vmlab.core.crypto import DecryptionError

pytestmark = pytest.mark.django_db

VM_PASSWORD = "vm-password-never-logged-42"


def events(vm, action):
    return list(AuditEvent.objects.filter(target_type="machines.virtualmachine", target_id=str(vm.pk), action=action))


def stored(vm):
    return VirtualMachine.objects.get(pk=vm.pk)


def assert_no_secret_in_the_audit_trail(*secrets):
    trail = json.dumps(list(AuditEvent.objects.values()), default=str)
    for secret in secrets:
        assert secret.strip() not in trail


@pytest.fixture
def owner():
    return UserFactory(role=Role.SIDEKICK)


@pytest.fixture
def vm(owner):
    return VirtualMachineFactory(owner=owner, password=VM_PASSWORD)


def test_vm_create_makes_the_actor_the_owner_and_records_it_without_secrets(owner, ssh_private_key):
    vm = services.vm_create(
        actor=owner,
        name="web",
        host="web.lab.example",
        port=2222,
        username="ubuntu",
        password=VM_PASSWORD,
        ssh_key=ssh_private_key,
    )

    vm = stored(vm)
    assert (vm.owner, vm.port, vm.password, vm.ssh_key) == (owner, 2222, VM_PASSWORD, ssh_private_key)
    [event] = events(vm, Action.VM_CREATE)
    assert event.actor == owner
    assert event.details["password_set"] is True
    assert event.details["ssh_key_set"] is True
    assert_no_secret_in_the_audit_trail(VM_PASSWORD, ssh_private_key)


def test_vm_create_by_a_regular_user_is_refused():
    with pytest.raises(PermissionDenied):
        services.vm_create(actor=UserFactory(role=Role.REGULAR), name="x", host="x.lab", port=22, username="u")

    assert not VirtualMachine.objects.exists()


def test_vm_create_with_an_assignee_is_for_managers_only(owner):
    with pytest.raises(PermissionDenied):
        services.vm_create(
            actor=owner, name="x", host="x.lab", port=22, username="u", assigned_to=UserFactory(role=Role.REGULAR)
        )

    assert not VirtualMachine.objects.exists()


def test_vm_create_by_a_manager_assigns_the_vm_and_keeps_the_manager_as_owner():
    manager, regular = UserFactory(role=Role.MANAGER), UserFactory(role=Role.REGULAR)

    vm = services.vm_create(actor=manager, name="x", host="x.lab", port=22, username="u", assigned_to=regular)

    assert (stored(vm).owner, stored(vm).assigned_to) == (manager, regular)
    assert events(vm, Action.VM_CREATE)[0].details["assigned_to"] == regular.username


def test_vm_create_validates_like_the_model(owner):
    with pytest.raises(ValidationError) as error:
        services.vm_create(actor=owner, name="x", host="bad host", port=0, username="u", ssh_key="not a key")

    assert {"host", "port", "ssh_key"} <= set(error.value.message_dict)
    assert not VirtualMachine.objects.exists()
    assert not AuditEvent.objects.exists()


def test_vm_update_saves_and_records_only_the_fields_that_changed(vm, owner):
    changed = services.vm_update(vm=vm, actor=owner, name="renamed", host=vm.host, port=2200)

    assert changed == ["name", "port"]
    assert (stored(vm).name, stored(vm).port, stored(vm).password) == ("renamed", 2200, VM_PASSWORD)
    [event] = events(vm, Action.VM_UPDATE)
    assert event.details == {"fields": ["name", "port"]}


def test_vm_update_without_a_change_records_nothing(vm, owner):
    assert services.vm_update(vm=vm, actor=owner, name=vm.name) == []

    assert events(vm, Action.VM_UPDATE) == []


def test_vm_update_refuses_fields_people_do_not_change(vm, owner):
    with pytest.raises(ValueError, match="no fields"):
        services.vm_update(vm=vm, actor=owner, host_key="ssh-ed25519 AAAA")

    assert stored(vm).host_key == ""


def test_vm_update_changes_details_and_secrets_in_one_write_and_records_each(vm, owner, ssh_private_key):
    services.vm_update(vm=vm, actor=owner, name="renamed", password=None, ssh_key=ssh_private_key)

    saved = stored(vm)
    assert (saved.name, saved.password, saved.ssh_key, saved.version) == ("renamed", None, ssh_private_key, 2)
    assert [event.details for event in events(vm, Action.SECRET_REMOVE)] == [{"field": "password"}]
    assert [event.details for event in events(vm, Action.SECRET_SET)] == [{"field": "ssh_key"}]


def test_vm_update_by_someone_else_is_refused(vm):
    with pytest.raises(PermissionDenied):
        services.vm_update(vm=vm, actor=UserFactory(role=Role.SIDEKICK), name="taken over")

    assert stored(vm).name == vm.name


def test_an_admin_may_update_a_shared_vm_of_someone_else(owner, admin):
    vm = VirtualMachineFactory(owner=owner, shared=True)

    services.vm_update(vm=vm, actor=admin, name="fixed by admin")

    assert stored(vm).name == "fixed by admin"
    assert events(vm, Action.VM_UPDATE)[0].actor == admin


def test_vm_delete_removes_the_vm_and_the_audit_row_keeps_its_name(vm, owner):
    pk, name = vm.pk, vm.name

    services.vm_delete(vm=vm, actor=owner)

    assert not VirtualMachine.objects.filter(pk=pk).exists()
    event = AuditEvent.objects.get(action=Action.VM_DELETE)
    assert (event.target_id, event.target_label) == (str(pk), name)


def test_vm_delete_by_an_assigned_user_is_refused(owner):
    regular = UserFactory(role=Role.REGULAR)
    vm = VirtualMachineFactory(owner=owner, assigned_to=regular)

    with pytest.raises(PermissionDenied):
        services.vm_delete(vm=vm, actor=regular)

    assert VirtualMachine.objects.filter(pk=vm.pk).exists()


def test_vm_set_and_remove_password_are_recorded_by_field_name(vm, owner):
    services.vm_set_password(vm=vm, actor=owner, password="a-new-one-77")
    assert stored(vm).password == "a-new-one-77"

    services.vm_remove_password(vm=vm, actor=owner)
    assert stored(vm).password is None

    assert [e.details for e in events(vm, Action.SECRET_SET)] == [{"field": "password"}]
    assert [e.details for e in events(vm, Action.SECRET_REMOVE)] == [{"field": "password"}]
    assert_no_secret_in_the_audit_trail("a-new-one-77", VM_PASSWORD)


def test_vm_set_password_refuses_an_empty_or_too_long_password(vm, owner):
    for bad in ("", "x" * 1025):
        with pytest.raises(ValidationError):
            services.vm_set_password(vm=vm, actor=owner, password=bad)

    assert stored(vm).password == VM_PASSWORD
    assert events(vm, Action.SECRET_SET) == []


def test_vm_set_and_remove_ssh_key_are_recorded_by_field_name(vm, owner, ssh_private_key):
    services.vm_set_ssh_key(vm=vm, actor=owner, ssh_key=ssh_private_key)
    assert stored(vm).ssh_key == ssh_private_key

    services.vm_remove_ssh_key(vm=vm, actor=owner)
    assert stored(vm).ssh_key is None

    assert [e.details for e in events(vm, Action.SECRET_SET)] == [{"field": "ssh_key"}]
    assert [e.details for e in events(vm, Action.SECRET_REMOVE)] == [{"field": "ssh_key"}]
    assert_no_secret_in_the_audit_trail(ssh_private_key)


def test_vm_set_ssh_key_refuses_what_is_not_a_private_key(vm, owner):
    with pytest.raises(ValidationError, match="not a private key"):
        services.vm_set_ssh_key(vm=vm, actor=owner, ssh_key="garbage")

    assert stored(vm).ssh_key is None


@pytest.mark.parametrize(
    "call",
    [
        lambda vm, actor: services.vm_set_password(vm=vm, actor=actor, password="stolen"),
        lambda vm, actor: services.vm_remove_password(vm=vm, actor=actor),
        lambda vm, actor: services.vm_remove_ssh_key(vm=vm, actor=actor),
        lambda vm, actor: services.vm_set_shared(vm=vm, actor=actor, shared=True),
    ],
    ids=["set password", "remove password", "remove key", "share"],
)
def test_secret_and_sharing_changes_by_a_manager_who_only_sees_the_vm_are_refused(owner, call):
    vm = VirtualMachineFactory(owner=owner, shared=True, password=VM_PASSWORD)

    with pytest.raises(PermissionDenied):
        call(vm, UserFactory(role=Role.MANAGER))

    assert stored(vm).password == VM_PASSWORD
    assert not AuditEvent.objects.exists()


def test_vm_set_shared_saves_and_records_the_new_value(vm, owner):
    services.vm_set_shared(vm=vm, actor=owner, shared=True)

    assert stored(vm).shared is True
    assert events(vm, Action.VM_SHARE)[0].details == {"shared": True}


def test_vm_assign_to_a_regular_user_then_to_nobody():
    manager, regular = UserFactory(role=Role.MANAGER), UserFactory(role=Role.REGULAR)
    vm = VirtualMachineFactory(owner=manager)

    services.vm_assign(vm=vm, actor=manager, assignee=regular)
    assert stored(vm).assigned_to == regular
    services.vm_assign(vm=vm, actor=manager, assignee=None)
    assert stored(vm).assigned_to is None

    assert [e.details for e in reversed(events(vm, Action.VM_ASSIGN))] == [
        {"assigned_to": regular.username},
        {"assigned_to": None},
    ]


@pytest.mark.parametrize(
    "assignee",
    [
        lambda: UserFactory(role=Role.MANAGER),
        lambda: UserFactory(role=Role.ADMIN),
        lambda: UserFactory(role=Role.NEW_USER),
        lambda: UserFactory(role=Role.REGULAR, is_active=False),
    ],
    ids=["manager", "admin", "new user", "disabled regular"],
)
def test_vm_assign_refuses_users_who_cannot_be_assigned_vms(assignee):
    manager = UserFactory(role=Role.MANAGER)
    vm = VirtualMachineFactory(owner=manager)

    with pytest.raises(ValidationError, match="active regular or sidekick"):
        services.vm_assign(vm=vm, actor=manager, assignee=assignee())

    assert stored(vm).assigned_to is None


def test_vm_assign_by_a_sidekick_owner_is_refused(vm, owner):
    with pytest.raises(PermissionDenied):
        services.vm_assign(vm=vm, actor=owner, assignee=UserFactory(role=Role.REGULAR))

    assert stored(vm).assigned_to is None


def test_vm_reveal_secret_returns_the_plaintext_and_records_the_field_only(vm, owner):
    secret = services.vm_reveal_secret(vm=vm, actor=owner, field="password", account_password=DEFAULT_PASSWORD)

    assert secret == VM_PASSWORD
    [event] = events(vm, Action.SECRET_REVEAL)
    assert (event.actor, event.details) == (owner, {"field": "password"})
    assert_no_secret_in_the_audit_trail(VM_PASSWORD)


def test_vm_reveal_secret_with_a_wrong_account_password_records_the_refusal(vm, owner):
    with pytest.raises(IdentityRefused) as refusal:
        services.vm_reveal_secret(vm=vm, actor=owner, field="password", account_password="guess")

    assert refusal.value.reason == "wrong_password"
    assert [e.details for e in events(vm, Action.SECRET_REVEAL_DENIED)] == [
        {"field": "password", "reason": "wrong_password"}
    ]
    assert events(vm, Action.SECRET_REVEAL) == []


def test_vm_reveal_secret_of_a_vm_the_actor_cannot_see_is_refused(vm):
    stranger = UserFactory(role=Role.MANAGER)

    with pytest.raises(PermissionDenied):
        services.vm_reveal_secret(vm=vm, actor=stranger, field="password", account_password=DEFAULT_PASSWORD)

    assert not AuditEvent.objects.exists()


def test_vm_reveal_secret_of_an_unset_secret_is_a_validation_error(vm, owner):
    with pytest.raises(ValidationError, match="no SSH key"):
        services.vm_reveal_secret(vm=vm, actor=owner, field="ssh_key", account_password=DEFAULT_PASSWORD)

    assert events(vm, Action.SECRET_REVEAL) == []


def test_vm_reveal_secret_under_a_lost_key_raises_and_records_no_reveal(vm, owner, settings):
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)

    with pytest.raises(DecryptionError, match="check FIELD_ENCRYPTION_KEYS"):
        services.vm_reveal_secret(vm=vm, actor=owner, field="password", account_password=DEFAULT_PASSWORD)

    assert events(vm, Action.SECRET_REVEAL) == []


# -- The stored SSH host key follows the address ---------------------------------------------------

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKzb0AVSXhXIfl3GmmhKmt6dkBkyuzsyqJeXj2HRrCzB"
HOST_KEY_FINGERPRINT = "SHA256:Mcvm54qzyvyx1vjuWMB1juMgcCC8HRw/fD4hggKvpVM"


@pytest.fixture
def vm_with_host_key(owner):
    return VirtualMachineFactory(owner=owner, host_key=HOST_KEY, host_key_fingerprint=HOST_KEY_FINGERPRINT)


@pytest.mark.parametrize("changes", [{"host": "moved.lab.example"}, {"port": 2222}], ids=["host", "port"])
def test_vm_update_of_the_host_or_port_forgets_the_host_key_and_records_it(vm_with_host_key, owner, changes):
    services.vm_update(vm=vm_with_host_key, actor=owner, **changes)

    saved = stored(vm_with_host_key)
    assert (saved.host_key, saved.host_key_fingerprint) == ("", "")
    assert (vm_with_host_key.host_key, vm_with_host_key.host_key_fingerprint) == ("", "")
    assert saved.version == 2
    [event] = events(vm_with_host_key, Action.VM_UPDATE)
    assert event.details == {"fields": list(changes), "host_key_cleared": True}


def test_vm_update_of_other_fields_keeps_the_host_key(vm_with_host_key, owner):
    services.vm_update(vm=vm_with_host_key, actor=owner, name="renamed", username="root", shared=True)

    saved = stored(vm_with_host_key)
    assert (saved.host_key, saved.host_key_fingerprint) == (HOST_KEY, HOST_KEY_FINGERPRINT)
    assert events(vm_with_host_key, Action.VM_UPDATE)[0].details == {"fields": ["name", "username"]}
    assert events(vm_with_host_key, Action.VM_SHARE)[0].details == {"shared": True}


def test_vm_update_refused_as_stale_keeps_the_host_key(vm_with_host_key, owner):
    with pytest.raises(ValidationError):
        services.vm_update(vm=vm_with_host_key, actor=owner, expected_version=7, host="moved.lab.example")

    assert stored(vm_with_host_key).host_key_fingerprint == HOST_KEY_FINGERPRINT
