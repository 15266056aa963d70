import pytest
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db


def assign_url(vm):
    return reverse("machines:assign", args=[vm.pk])


def assignee_of(vm):
    return VirtualMachine.objects.get(pk=vm.pk).assigned_to


@pytest.fixture
def manager(client):
    user = UserFactory(role=Role.MANAGER)
    client.force_login(user)
    return user


@pytest.fixture
def vm(manager):
    return VirtualMachineFactory(owner=manager, name="train")


def test_the_assign_page_lists_active_regular_and_sidekick_users_only(client, vm):
    UserFactory(username="pick-regular", role=Role.REGULAR)
    UserFactory(username="pick-sidekick", role=Role.SIDEKICK)
    UserFactory(username="skip-manager", role=Role.MANAGER)
    UserFactory(username="skip-admin", role=Role.ADMIN)
    UserFactory(username="skip-newcomer", role=Role.NEW_USER)
    UserFactory(username="skip-disabled", role=Role.SIDEKICK, is_active=False)

    response = client.get(assign_url(vm))

    assert response.status_code == 200
    assert "Nobody" in response.text
    assert "pick-regular" in response.text and "pick-sidekick" in response.text
    assert "skip-" not in response.text


def test_the_current_assignee_is_preselected(client, vm):
    regular = UserFactory(role=Role.REGULAR)
    vm.assigned_to = regular
    vm.save()

    response = client.get(assign_url(vm))

    assert f'<option value="{regular.pk}" selected>' in response.text


def test_assigning_saves_shows_a_message_and_records_it(client, vm, manager):
    regular = UserFactory(role=Role.REGULAR, username="rob")

    response = client.post(assign_url(vm), {"assigned_to": regular.pk}, follow=True)

    assert assignee_of(vm) == regular
    assert response.redirect_chain == [(reverse("machines:detail", args=[vm.pk]), 302)]
    assert "VM “train” is now assigned to rob." in response.text
    event = AuditEvent.objects.get(action=Action.VM_ASSIGN)
    assert (event.actor, event.details) == (manager, {"assigned_to": "rob"})


def test_choosing_nobody_unassigns_the_vm(client, vm):
    vm.assigned_to = UserFactory(role=Role.SIDEKICK)
    vm.save()

    response = client.post(assign_url(vm), {"assigned_to": ""}, follow=True)

    assert assignee_of(vm) is None
    assert "is no longer assigned to anyone" in response.text


@pytest.mark.parametrize(
    "make_user",
    [
        lambda: UserFactory(role=Role.MANAGER),
        lambda: UserFactory(role=Role.ADMIN),
        lambda: UserFactory(role=Role.NEW_USER),
        lambda: UserFactory(role=Role.REGULAR, is_active=False),
    ],
    ids=["manager", "admin", "new user", "disabled regular"],
)
def test_users_who_cannot_be_assigned_vms_are_refused_with_a_form_error(client, vm, make_user):
    response = client.post(assign_url(vm), {"assigned_to": make_user().pk})

    assert response.status_code == 200
    assert "Choose an active regular or sidekick user, or nobody." in response.text
    assert assignee_of(vm) is None
    assert not AuditEvent.objects.exclude(action=Action.LOGIN).exists()


def test_an_unknown_user_id_is_a_form_error(client, vm):
    response = client.post(assign_url(vm), {"assigned_to": "999999"})

    assert "Choose an active regular or sidekick user, or nobody." in response.text


def test_a_sidekick_cannot_assign_even_their_own_vm(client):
    sidekick = UserFactory(role=Role.SIDEKICK)
    client.force_login(sidekick)
    vm = VirtualMachineFactory(owner=sidekick)

    assert client.get(assign_url(vm)).status_code == 404
    assert client.post(assign_url(vm), {"assigned_to": UserFactory(role=Role.REGULAR).pk}).status_code == 404
    assert assignee_of(vm) is None


def test_a_manager_cannot_assign_another_managers_shared_vm(client, manager):
    vm = VirtualMachineFactory(owner=UserFactory(role=Role.MANAGER), shared=True)

    response = client.post(assign_url(vm), {"assigned_to": UserFactory(role=Role.REGULAR).pk})

    assert response.status_code == 404
    assert assignee_of(vm) is None


def test_an_admin_may_assign_any_vm_they_see(client, admin):
    vm = VirtualMachineFactory(owner=UserFactory(role=Role.MANAGER), shared=True)
    regular = UserFactory(role=Role.REGULAR)
    client.force_login(admin)

    client.post(assign_url(vm), {"assigned_to": regular.pk})

    assert assignee_of(vm) == regular
