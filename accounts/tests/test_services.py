import pytest
from django.core.exceptions import PermissionDenied

from access.roles import Role
from accounts.models import User
from accounts.services import user_create, user_register, user_update_profile
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db


def role_in_db(user):
    return User.objects.values_list("role", flat=True).get(pk=user.pk)


def test_registering_creates_a_newcomer_with_a_hashed_password_and_an_audit_row():
    user = user_register(username="newbie", email="newbie@lab.example", password="a long lab passphrase")

    assert (role_in_db(user), user.check_password("a long lab passphrase")) == (Role.NEW_USER, True)
    event = AuditEvent.objects.get(action=Action.USER_REGISTER)
    assert (event.actor_id, event.target_id) == (user.pk, str(user.pk))


def test_only_admins_change_someone_elses_profile():
    target = UserFactory(username="jsmith", role=Role.ADMIN)

    with pytest.raises(PermissionDenied):
        user_update_profile(user=target, actor=UserFactory(role=Role.MANAGER), username="taken-over")

    assert User.objects.filter(pk=target.pk, username="jsmith").exists()


def test_a_manager_cannot_create_accounts_even_with_a_role_they_may_grant():
    with pytest.raises(PermissionDenied, match="Only admins"):
        user_create(
            actor=UserFactory(role=Role.MANAGER), username="x", email="x@lab.example", role=Role.REGULAR, password=None
        )

    assert not User.objects.filter(username="x").exists()
