import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string

from access.roles import Role
from accounts.tests.factories import UserFactory
from connect.status import with_status
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab():
    """One VM of each kind as seen by `viewer`: own, assigned to them, others' shared, others' private."""

    def build(role, *, is_active=True):
        viewer = UserFactory(role=role, is_active=is_active)
        other = UserFactory(role=Role.SIDEKICK)
        return viewer, {
            "own": VirtualMachineFactory(owner=viewer, shared=False),
            "assigned": VirtualMachineFactory(owner=other, assigned_to=viewer, shared=False),
            "shared": VirtualMachineFactory(owner=other, shared=True),
            "private": VirtualMachineFactory(owner=other, shared=False),
        }

    return build


def visible_kinds(viewer, vms):
    visible = set(VirtualMachine.objects.visible_to(viewer))
    return {kind for kind, vm in vms.items() if vm in visible}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.NEW_USER, set()),
        (Role.REGULAR, {"own", "assigned"}),
        (Role.SIDEKICK, {"own", "assigned"}),
        (Role.MANAGER, {"own", "assigned", "shared"}),
        (Role.ADMIN, {"own", "assigned", "shared"}),
    ],
)
def test_visible_to_follows_the_role_with_the_default_sharing_minimum(lab, role, expected):
    viewer, vms = lab(role)

    assert visible_kinds(viewer, vms) == expected


@pytest.mark.parametrize(
    ("minimum", "role", "sees_shared"),
    [
        ("regular", Role.REGULAR, True),
        ("sidekick", Role.REGULAR, False),
        ("sidekick", Role.SIDEKICK, True),
        ("admin", Role.MANAGER, False),
        ("admin", Role.ADMIN, True),
        ("disabled", Role.ADMIN, False),
    ],
)
def test_vm_sharing_minimum_role_decides_who_sees_others_shared_vms(lab, settings, minimum, role, sees_shared):
    settings.VM_SHARING_MINIMUM_ROLE = minimum
    viewer, vms = lab(role)

    assert ("shared" in visible_kinds(viewer, vms)) is sees_shared
    assert "private" not in visible_kinds(viewer, vms)


def test_inactive_user_sees_nothing_not_even_their_own_vms(lab):
    viewer, vms = lab(Role.ADMIN, is_active=False)

    assert visible_kinds(viewer, vms) == set()


def test_anonymous_user_sees_nothing(lab):
    lab(Role.ADMIN)

    assert not VirtualMachine.objects.visible_to(AnonymousUser()).exists()


def test_a_vm_both_owned_and_assigned_is_listed_once():
    viewer = UserFactory(role=Role.MANAGER)
    VirtualMachineFactory(owner=viewer, assigned_to=viewer, shared=True)

    assert VirtualMachine.objects.visible_to(viewer).count() == 1


def test_owned_by_accepts_a_user_or_a_username():
    jsmith = UserFactory(username="jsmith")
    own = VirtualMachineFactory(owner=jsmith)
    VirtualMachineFactory()

    assert list(VirtualMachine.objects.owned_by(jsmith)) == [own]
    assert list(VirtualMachine.objects.owned_by("jsmith")) == [own]
    assert list(VirtualMachine.objects.owned_by("JSmith")) == [own]


def test_exclude_owner_replaces_find_all_with_exclude_user_name():
    jsmith = UserFactory(username="jsmith")
    VirtualMachineFactory(owner=jsmith)
    others = {VirtualMachineFactory(), VirtualMachineFactory()}

    assert set(VirtualMachine.objects.exclude_owner("jsmith")) == others
    assert set(VirtualMachine.objects.exclude_owner(jsmith)) == others


def test_assigned_to_user_lists_only_that_users_assignments():
    dpeters = UserFactory(username="dpeters", role=Role.REGULAR)
    assigned = VirtualMachineFactory(assigned_to=dpeters)
    VirtualMachineFactory(assigned_to=UserFactory())
    VirtualMachineFactory()

    assert list(VirtualMachine.objects.assigned_to_user(dpeters)) == [assigned]
    assert list(VirtualMachine.objects.assigned_to_user("dpeters")) == [assigned]


def test_shared_lists_shared_vms_only():
    shared = VirtualMachineFactory(shared=True)
    VirtualMachineFactory(shared=False)

    assert list(VirtualMachine.objects.shared()) == [shared]


def test_get_by_id_equivalent_is_a_lookup_through_visible_to():
    viewer = UserFactory(role=Role.SIDEKICK)
    private = VirtualMachineFactory(shared=False)

    assert not VirtualMachine.objects.visible_to(viewer).filter(pk=private.pk).exists()
    assert VirtualMachine.objects.get(pk=private.pk) == private


def test_without_secrets_defers_both_secrets_and_says_whether_they_are_set():
    VirtualMachineFactory(password="s3cret-value", ssh_key=None)

    vm = VirtualMachine.objects.without_secrets().get()

    assert vm.get_deferred_fields() == {"password", "ssh_key"}
    assert (vm.has_password, vm.has_ssh_key) == (True, False)


def test_deleting_the_owner_deletes_their_vms_and_deleting_the_assignee_unassigns():
    owner, assignee = UserFactory(), UserFactory(role=Role.REGULAR)
    vm = VirtualMachineFactory(owner=owner, assigned_to=assignee)
    owned_elsewhere = VirtualMachineFactory(assigned_to=assignee)

    assignee.delete()
    owned_elsewhere.refresh_from_db()
    owner.delete()

    assert owned_elsewhere.assigned_to is None
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()


def test_a_vm_table_draws_every_row_from_the_list_query_alone(django_assert_num_queries):
    """for_table() loads whatever machines/includes/vm_table.html shows (with connect.status.STATUS_FIELDS, as
    connect.status.with_status asks): rendering it runs no query."""
    owner = UserFactory(username="tableowner")
    VirtualMachineFactory.create_batch(
        3, owner=owner, assigned_to=UserFactory(username="tableassignee"), password="vm-secret-1"
    )
    vms = list(with_status(VirtualMachine.objects.all()))

    with django_assert_num_queries(0):
        html = render_to_string("machines/includes/vm_table.html", {"vms": vms})

    assert html.count("tableowner") == 3
    assert html.count("tableassignee") == 3
    assert html.count('class="badge badge-ok">password') == 3
