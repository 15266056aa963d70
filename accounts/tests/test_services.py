import pytest

from access.roles import Role
from accounts.models import User
from accounts.services import user_register
from audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db


def role_in_db(user):
    return User.objects.values_list("role", flat=True).get(pk=user.pk)


def test_registering_creates_a_newcomer_with_a_hashed_password_and_an_audit_row():
    user = user_register(username="newbie", email="newbie@lab.example", password="a long lab passphrase")

    assert (role_in_db(user), user.check_password("a long lab passphrase")) == (Role.NEW_USER, True)
    event = AuditEvent.objects.get(action=Action.USER_REGISTER)
    assert (event.actor_id, event.target_id) == (user.pk, str(user.pk))
