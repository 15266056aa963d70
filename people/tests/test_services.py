import pytest
from django.core.exceptions import PermissionDenied

from access.roles import Role
from accounts.models import User
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from bookmarks.models import Bookmark
from bookmarks.tests.factories import BookmarkFactory
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory
from people.services import (
    user_actions_for,
    user_approve,
    user_delete,
    user_deny,
    user_disable,
    user_enable,
    user_set_role,
)

pytestmark = pytest.mark.django_db


def role_in_db(user):
    return User.objects.values_list("role", flat=True).get(pk=user.pk)


def is_active_in_db(user):
    return User.objects.values_list("is_active", flat=True).get(pk=user.pk)


@pytest.mark.parametrize("role", [Role.REGULAR, Role.SIDEKICK])
def test_manager_approves_a_newcomer_as_regular_or_sidekick(role):
    manager = UserFactory(role=Role.MANAGER)
    newcomer = UserFactory(role=Role.NEW_USER)

    user_approve(user=newcomer, role=role, actor=manager)

    assert role_in_db(newcomer) == role


def test_manager_cannot_approve_as_manager():
    manager = UserFactory(role=Role.MANAGER)
    newcomer = UserFactory(role=Role.NEW_USER)

    with pytest.raises(PermissionDenied):
        user_approve(user=newcomer, role=Role.MANAGER, actor=manager)

    assert role_in_db(newcomer) == Role.NEW_USER


def test_a_disabled_newcomer_cannot_be_approved():
    admin = UserFactory(role=Role.ADMIN)
    newcomer = UserFactory(role=Role.NEW_USER, is_active=False)

    with pytest.raises(PermissionDenied, match="is not waiting for approval"):
        user_approve(user=newcomer, role=Role.REGULAR, actor=admin)

    assert role_in_db(newcomer) == Role.NEW_USER


def test_admin_approves_a_newcomer_as_manager():
    admin = UserFactory(role=Role.ADMIN)
    newcomer = UserFactory(role=Role.NEW_USER)

    user_approve(user=newcomer, role=Role.MANAGER, actor=admin)

    assert role_in_db(newcomer) == Role.MANAGER


def test_admin_cannot_approve_as_admin():
    admin = UserFactory(role=Role.ADMIN)
    newcomer = UserFactory(role=Role.NEW_USER)

    with pytest.raises(PermissionDenied):
        user_approve(user=newcomer, role=Role.ADMIN, actor=admin)

    newcomer.refresh_from_db()
    assert (newcomer.role, newcomer.is_staff) == (Role.NEW_USER, False)


def test_sidekick_cannot_approve_anyone():
    sidekick = UserFactory(role=Role.SIDEKICK)
    newcomer = UserFactory(role=Role.NEW_USER)

    with pytest.raises(PermissionDenied):
        user_approve(user=newcomer, role=Role.REGULAR, actor=sidekick)

    assert role_in_db(newcomer) == Role.NEW_USER


def test_approving_a_user_who_is_not_waiting_is_refused():
    admin = UserFactory(role=Role.ADMIN)
    regular = UserFactory(role=Role.REGULAR)

    with pytest.raises(PermissionDenied, match="not waiting for approval"):
        user_approve(user=regular, role=Role.SIDEKICK, actor=admin)

    assert role_in_db(regular) == Role.REGULAR


def test_approved_user_leaves_the_waiting_list():
    manager = UserFactory(role=Role.MANAGER)
    newcomer = UserFactory(role=Role.NEW_USER)

    user_approve(user=newcomer, role=Role.REGULAR, actor=manager)

    assert not User.objects.awaiting_approval().filter(pk=newcomer.pk).exists()


# user_set_role


@pytest.mark.parametrize(("before", "after"), [(Role.SIDEKICK, Role.REGULAR), (Role.REGULAR, Role.SIDEKICK)])
def test_manager_switches_a_user_between_sidekick_and_regular(before, after):
    manager = UserFactory(role=Role.MANAGER)
    user = UserFactory(role=before)

    user_set_role(user=user, role=after, actor=manager)

    assert role_in_db(user) == after


@pytest.mark.parametrize("target_role", [Role.MANAGER, Role.ADMIN])
def test_manager_cannot_change_the_role_of_a_manager_or_admin(target_role):
    manager = UserFactory(role=Role.MANAGER)
    user = UserFactory(role=target_role)

    with pytest.raises(PermissionDenied):
        user_set_role(user=user, role=Role.REGULAR, actor=manager)

    assert role_in_db(user) == target_role


def test_manager_cannot_promote_to_manager():
    manager = UserFactory(role=Role.MANAGER)
    sidekick = UserFactory(role=Role.SIDEKICK)

    with pytest.raises(PermissionDenied):
        user_set_role(user=sidekick, role=Role.MANAGER, actor=manager)

    assert role_in_db(sidekick) == Role.SIDEKICK


def test_admin_promotes_a_sidekick_to_manager():
    admin = UserFactory(role=Role.ADMIN)
    sidekick = UserFactory(role=Role.SIDEKICK)

    user_set_role(user=sidekick, role=Role.MANAGER, actor=admin)

    assert role_in_db(sidekick) == Role.MANAGER


def test_admin_cannot_promote_to_admin():
    admin = UserFactory(role=Role.ADMIN)
    manager = UserFactory(role=Role.MANAGER)

    with pytest.raises(PermissionDenied):
        user_set_role(user=manager, role=Role.ADMIN, actor=admin)

    manager.refresh_from_db()
    assert (manager.role, manager.is_staff, manager.is_superuser) == (Role.MANAGER, False, False)


def test_role_of_a_newcomer_is_not_changed_outside_approval():
    admin = UserFactory(role=Role.ADMIN)
    newcomer = UserFactory(role=Role.NEW_USER)

    with pytest.raises(PermissionDenied):
        user_set_role(user=newcomer, role=Role.SIDEKICK, actor=admin)

    assert role_in_db(newcomer) == Role.NEW_USER


@pytest.mark.parametrize(("role", "new_role"), [(Role.MANAGER, Role.REGULAR), (Role.ADMIN, Role.MANAGER)])
def test_nobody_changes_their_own_role(role, new_role):
    actor = UserFactory(role=role)

    with pytest.raises(PermissionDenied, match="your own role"):
        user_set_role(user=actor, role=new_role, actor=actor)

    assert role_in_db(actor) == role


def test_sidekick_cannot_change_anyones_role():
    sidekick = UserFactory(role=Role.SIDEKICK)
    regular = UserFactory(role=Role.REGULAR)

    with pytest.raises(PermissionDenied):
        user_set_role(user=regular, role=Role.SIDEKICK, actor=sidekick)

    assert role_in_db(regular) == Role.REGULAR


# user_disable


def test_disabling_a_user_blocks_their_login():
    manager = UserFactory(role=Role.MANAGER)
    sidekick = UserFactory(role=Role.SIDEKICK)

    user_disable(user=sidekick, actor=manager)

    assert is_active_in_db(sidekick) is False


def test_disabling_a_user_shares_all_their_private_vms():
    admin = UserFactory(role=Role.ADMIN)
    owner = UserFactory(role=Role.SIDEKICK)
    VirtualMachineFactory.create_batch(3, owner=owner, shared=False)
    VirtualMachineFactory(owner=owner, shared=True)

    user_disable(user=owner, actor=admin)

    assert list(VirtualMachine.objects.owned_by(owner).values_list("shared", flat=True)) == [True] * 4


def test_disabling_a_user_returns_how_many_vms_became_shared():
    admin = UserFactory(role=Role.ADMIN)
    owner = UserFactory(role=Role.SIDEKICK)
    VirtualMachineFactory.create_batch(3, owner=owner, shared=False)
    VirtualMachineFactory(owner=owner, shared=True)

    assert user_disable(user=owner, actor=admin) == 3


def test_disabling_a_user_leaves_other_users_vms_private():
    admin = UserFactory(role=Role.ADMIN)
    owner = UserFactory(role=Role.SIDEKICK)
    bystander = UserFactory(role=Role.SIDEKICK)
    VirtualMachineFactory(owner=owner, shared=False)
    others_vm = VirtualMachineFactory(owner=bystander, shared=False)
    assigned_vm = VirtualMachineFactory(owner=bystander, assigned_to=owner, shared=False)

    user_disable(user=owner, actor=admin)

    others_vm.refresh_from_db()
    assigned_vm.refresh_from_db()
    assert (others_vm.shared, assigned_vm.shared) == (False, False)


def test_manager_can_disable_another_manager():
    manager = UserFactory(role=Role.MANAGER)
    other_manager = UserFactory(role=Role.MANAGER)

    user_disable(user=other_manager, actor=manager)

    assert is_active_in_db(other_manager) is False


def test_manager_cannot_disable_an_admin():
    manager = UserFactory(role=Role.MANAGER)
    admin = UserFactory(role=Role.ADMIN)
    vm = VirtualMachineFactory(owner=admin, shared=False)

    with pytest.raises(PermissionDenied):
        user_disable(user=admin, actor=manager)

    vm.refresh_from_db()
    assert (is_active_in_db(admin), vm.shared) == (True, False)


def test_admin_can_disable_another_admin():
    admin = UserFactory(role=Role.ADMIN)
    other_admin = UserFactory(role=Role.ADMIN)

    user_disable(user=other_admin, actor=admin)

    assert is_active_in_db(other_admin) is False


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_nobody_disables_themselves(role):
    actor = UserFactory(role=role)
    vm = VirtualMachineFactory(owner=actor, shared=False)

    with pytest.raises(PermissionDenied):
        user_disable(user=actor, actor=actor)

    vm.refresh_from_db()
    assert (is_active_in_db(actor), vm.shared) == (True, False)


def test_sidekick_cannot_disable_anyone():
    sidekick = UserFactory(role=Role.SIDEKICK)
    regular = UserFactory(role=Role.REGULAR)

    with pytest.raises(PermissionDenied):
        user_disable(user=regular, actor=sidekick)

    assert is_active_in_db(regular) is True


# user_enable


def test_enabling_a_disabled_user_lets_them_log_in_again():
    manager = UserFactory(role=Role.MANAGER)
    sidekick = UserFactory(role=Role.SIDEKICK, is_active=False)

    user_enable(user=sidekick, actor=manager)

    assert is_active_in_db(sidekick) is True


def test_manager_cannot_enable_an_admin():
    manager = UserFactory(role=Role.MANAGER)
    admin = UserFactory(role=Role.ADMIN, is_active=False)

    with pytest.raises(PermissionDenied):
        user_enable(user=admin, actor=manager)

    assert is_active_in_db(admin) is False


def test_admin_enables_a_disabled_admin():
    admin = UserFactory(role=Role.ADMIN)
    other_admin = UserFactory(role=Role.ADMIN, is_active=False)

    user_enable(user=other_admin, actor=admin)

    assert is_active_in_db(other_admin) is True


def test_sidekick_cannot_enable_anyone():
    sidekick = UserFactory(role=Role.SIDEKICK)
    regular = UserFactory(role=Role.REGULAR, is_active=False)

    with pytest.raises(PermissionDenied):
        user_enable(user=regular, actor=sidekick)

    assert is_active_in_db(regular) is False


# a disabled actor


def test_a_disabled_admin_can_neither_approve_nor_disable_anyone():
    actor = UserFactory(role=Role.ADMIN, is_active=False)
    newcomer, member = UserFactory(role=Role.NEW_USER), UserFactory(role=Role.SIDEKICK)

    with pytest.raises(PermissionDenied):
        user_approve(user=newcomer, role=Role.REGULAR, actor=actor)
    with pytest.raises(PermissionDenied):
        user_disable(user=member, actor=actor)

    assert role_in_db(newcomer) == Role.NEW_USER
    assert is_active_in_db(member) is True


# audit trail of the existing services


def test_approval_is_recorded_with_the_role_given():
    manager, newcomer = UserFactory(role=Role.MANAGER), UserFactory(role=Role.NEW_USER)

    user_approve(user=newcomer, role=Role.REGULAR, actor=manager)

    event = AuditEvent.objects.get()
    assert (event.action, event.actor_id, event.target_id, event.details) == (
        Action.USER_APPROVE,
        manager.pk,
        str(newcomer.pk),
        {"role": Role.REGULAR},
    )


def test_role_change_is_recorded_with_old_and_new_role():
    admin, sidekick = UserFactory(role=Role.ADMIN), UserFactory(role=Role.SIDEKICK)

    user_set_role(user=sidekick, role=Role.MANAGER, actor=admin)

    event = AuditEvent.objects.get()
    assert (event.action, event.details) == (Action.USER_ROLE, {"old": Role.SIDEKICK, "new": Role.MANAGER})


def test_disabling_is_recorded_with_the_number_of_vms_shared():
    admin, owner = UserFactory(role=Role.ADMIN), UserFactory(role=Role.SIDEKICK)
    VirtualMachineFactory.create_batch(2, owner=owner, shared=False)

    user_disable(user=owner, actor=admin)

    event = AuditEvent.objects.get()
    assert (event.action, event.details) == (Action.USER_DISABLE, {"vms_shared": 2})


def test_enabling_is_recorded():
    manager, user = UserFactory(role=Role.MANAGER), UserFactory(is_active=False)

    user_enable(user=user, actor=manager)

    assert AuditEvent.objects.get().action == Action.USER_ENABLE


def test_a_refused_change_leaves_no_audit_row():
    manager, admin = UserFactory(role=Role.MANAGER), UserFactory(role=Role.ADMIN)

    with pytest.raises(PermissionDenied):
        user_disable(user=admin, actor=manager)

    assert not AuditEvent.objects.exists()


# user_deny


def test_admin_denies_a_newcomer_and_the_account_is_deleted_but_remembered_in_the_audit():
    admin, newcomer = UserFactory(role=Role.ADMIN), UserFactory(username="rbriggs", role=Role.NEW_USER)
    newcomer_id = str(newcomer.pk)

    user_deny(user=newcomer, actor=admin)

    assert not User.objects.filter(username="rbriggs").exists()
    event = AuditEvent.objects.get()
    assert (event.action, event.target_label, event.target_id) == (Action.USER_DENY, "rbriggs", newcomer_id)


def test_manager_cannot_deny_a_newcomer():
    manager, newcomer = UserFactory(role=Role.MANAGER), UserFactory(role=Role.NEW_USER)

    with pytest.raises(PermissionDenied):
        user_deny(user=newcomer, actor=manager)

    assert role_in_db(newcomer) == Role.NEW_USER


def test_deny_refuses_an_approved_user():
    admin, regular = UserFactory(role=Role.ADMIN), UserFactory(role=Role.REGULAR)

    with pytest.raises(PermissionDenied, match="not waiting for approval"):
        user_deny(user=regular, actor=admin)

    assert role_in_db(regular) == Role.REGULAR


# user_delete


def test_admin_deletes_a_disabled_user_with_their_vms_and_bookmarks_and_gets_the_counts():
    admin, leaver = UserFactory(role=Role.ADMIN), UserFactory(username="leaver", is_active=False)
    VirtualMachineFactory.create_batch(2, owner=leaver)
    BookmarkFactory.create_batch(3, owner=leaver)
    kept_vm, kept_bookmark = VirtualMachineFactory(), BookmarkFactory()

    counts = user_delete(user=leaver, actor=admin)

    assert counts == {"vms": 2, "bookmarks": 3}
    assert not User.objects.filter(username="leaver").exists()
    assert list(VirtualMachine.objects.values_list("pk", flat=True)) == [kept_vm.pk]
    assert list(Bookmark.objects.values_list("pk", flat=True)) == [kept_bookmark.pk]
    event = AuditEvent.objects.get()
    assert (event.action, event.target_label, event.details) == (Action.USER_DELETE, "leaver", counts)


def test_an_active_user_cannot_be_deleted():
    admin, member = UserFactory(role=Role.ADMIN), UserFactory()

    with pytest.raises(PermissionDenied, match="Only disabled users"):
        user_delete(user=member, actor=admin)

    assert User.objects.filter(pk=member.pk).exists()


def test_manager_cannot_delete_a_disabled_user():
    manager, leaver = UserFactory(role=Role.MANAGER), UserFactory(is_active=False)

    with pytest.raises(PermissionDenied):
        user_delete(user=leaver, actor=manager)

    assert User.objects.filter(pk=leaver.pk).exists()


# user_actions_for


def test_actions_of_a_manager_on_a_sidekick():
    actions = user_actions_for(UserFactory(role=Role.MANAGER), UserFactory(role=Role.SIDEKICK))

    assert (actions.roles, actions.disable, actions.enable, actions.delete, actions.deny) == (
        [Role.REGULAR, Role.SIDEKICK],
        True,
        False,
        False,
        False,
    )


def test_a_manager_has_no_action_on_an_admin():
    assert not user_actions_for(UserFactory(role=Role.MANAGER), UserFactory(role=Role.ADMIN)).any


def test_an_admin_may_enable_or_delete_a_disabled_user():
    actions = user_actions_for(UserFactory(role=Role.ADMIN), UserFactory(is_active=False))

    assert (actions.disable, actions.enable, actions.delete) == (False, True, True)


def test_a_newcomer_may_be_approved_and_by_an_admin_denied_but_not_given_a_role():
    newcomer = UserFactory(role=Role.NEW_USER)

    by_admin = user_actions_for(UserFactory(role=Role.ADMIN), newcomer)
    by_manager = user_actions_for(UserFactory(role=Role.MANAGER), newcomer)

    assert (by_admin.approve_roles, by_admin.deny, by_admin.roles) == (
        [Role.REGULAR, Role.SIDEKICK, Role.MANAGER],
        True,
        [],
    )
    assert (by_manager.approve_roles, by_manager.deny) == ([Role.REGULAR, Role.SIDEKICK], False)


def test_nobody_has_actions_on_themselves():
    admin = UserFactory(role=Role.ADMIN)

    assert not user_actions_for(admin, admin).any


def test_a_disabled_newcomer_is_offered_neither_approval_nor_denial():
    actions = user_actions_for(UserFactory(role=Role.ADMIN), UserFactory(role=Role.NEW_USER, is_active=False))

    assert actions.approve_roles == []
    assert actions.deny is False
