import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from access.roles import Role
from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES_IN_ORDER = [Role.NEW_USER, Role.REGULAR, Role.SIDEKICK, Role.MANAGER, Role.ADMIN]


def new_user_with(**fields):
    """An unsaved user that passes every field validator, so only the constraints can complain."""
    user = User(**{"username": "newcomer", "email": "newcomer@lab.example", **fields})
    user.set_password("correct horse battery staple")
    return user


# Role ordering


def test_roles_are_declared_from_least_to_most_rights():
    assert Role.values == ["new_user", "regular", "sidekick", "manager", "admin"]


def test_role_rank_grows_with_rights():
    assert [Role.rank(role) for role in ROLES_IN_ORDER] == [0, 1, 2, 3, 4]


def test_role_rank_accepts_the_plain_string_value():
    assert Role.rank("manager") == Role.rank(Role.MANAGER)


def test_role_rank_refuses_an_unknown_role():
    with pytest.raises(ValueError, match="superhero"):
        Role.rank("superhero")


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.NEW_USER, ["new_user", "regular", "sidekick", "manager", "admin"]),
        (Role.SIDEKICK, ["sidekick", "manager", "admin"]),
        (Role.ADMIN, ["admin"]),
    ],
)
def test_role_at_least_lists_the_role_and_every_higher_one(role, expected):
    assert Role.at_least(role) == expected


@pytest.mark.parametrize(
    ("role", "minimum", "expected"),
    [
        (Role.MANAGER, Role.MANAGER, True),
        (Role.ADMIN, Role.MANAGER, True),
        (Role.SIDEKICK, Role.MANAGER, False),
        (Role.REGULAR, Role.SIDEKICK, False),
        (Role.REGULAR, Role.NEW_USER, True),
        (Role.NEW_USER, Role.REGULAR, False),
        (Role.MANAGER, Role.ADMIN, False),
    ],
)
def test_user_role_at_least_compares_by_rank_not_by_name(role, minimum, expected):
    assert UserFactory.build(role=role).role_at_least(minimum) is expected


# Django admin flags follow the role


def test_admin_is_saved_as_staff_and_superuser():
    admin = UserFactory(role=Role.ADMIN)

    admin.refresh_from_db()
    assert (admin.is_staff, admin.is_superuser) == (True, True)


@pytest.mark.parametrize("role", [Role.NEW_USER, Role.REGULAR, Role.SIDEKICK, Role.MANAGER])
def test_non_admin_is_saved_without_staff_or_superuser(role):
    user = UserFactory(role=role)

    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (False, False)


def test_staff_and_superuser_cannot_be_forced_on_a_non_admin():
    manager = UserFactory(role=Role.MANAGER, is_staff=True, is_superuser=True)

    manager.refresh_from_db()
    assert (manager.is_staff, manager.is_superuser) == (False, False)


def test_staff_and_superuser_cannot_be_forced_through_update_fields():
    manager = UserFactory(role=Role.MANAGER)
    manager.is_staff = manager.is_superuser = True

    manager.save(update_fields=["is_staff", "is_superuser"])

    manager.refresh_from_db()
    assert (manager.is_staff, manager.is_superuser) == (False, False)


def test_promoting_to_admin_grants_staff_and_superuser():
    user = UserFactory(role=Role.MANAGER)
    user.role = Role.ADMIN

    user.save()

    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (True, True)


def test_demoting_an_admin_removes_staff_and_superuser():
    admin = UserFactory(role=Role.ADMIN)
    admin.role = Role.MANAGER

    admin.save()

    admin.refresh_from_db()
    assert (admin.is_staff, admin.is_superuser) == (False, False)


def test_promoting_to_admin_with_update_fields_role_also_saves_staff_and_superuser():
    user = UserFactory(role=Role.SIDEKICK)
    user.role = Role.ADMIN

    user.save(update_fields=["role"])

    user.refresh_from_db()
    assert (user.role, user.is_staff, user.is_superuser) == (Role.ADMIN, True, True)


def test_demoting_an_admin_with_update_fields_role_also_saves_staff_and_superuser():
    admin = UserFactory(role=Role.ADMIN)
    admin.role = Role.REGULAR

    admin.save(update_fields=["role"])

    admin.refresh_from_db()
    assert (admin.role, admin.is_staff, admin.is_superuser) == (Role.REGULAR, False, False)


def test_createsuperuser_command_creates_an_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long operator passphrase")

    call_command("createsuperuser", interactive=False, username="root", email="root@lab.example", verbosity=0)

    root = User.objects.get(username="root")
    assert (root.role, root.is_staff, root.is_superuser) == (Role.ADMIN, True, True)
    assert root.check_password("a long operator passphrase")


def test_createsuperuser_refuses_a_username_taken_in_another_case(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long operator passphrase")
    UserFactory(username="root", email="root@lab.example")

    with pytest.raises(CommandError, match="already taken"), transaction.atomic():
        call_command("createsuperuser", interactive=False, username="ROOT", email="other@lab.example", verbosity=0)

    assert User.objects.count() == 1


# Uniqueness, ignoring case


def test_email_is_unique_ignoring_case_in_the_database():
    UserFactory(username="alice", email="alice@lab.example")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="alice2", email="Alice@LAB.example")


def test_full_clean_reports_an_email_taken_in_another_case():
    UserFactory(username="alice", email="alice@lab.example")
    user = new_user_with(username="alice2", email="ALICE@lab.example")

    with pytest.raises(ValidationError) as excinfo:
        user.full_clean()

    assert "A user with that e-mail address already exists." in excinfo.value.messages


def test_validate_constraints_reports_an_email_taken_in_another_case():
    UserFactory(username="alice", email="alice@lab.example")
    user = new_user_with(username="alice2", email="Alice@Lab.Example")

    with pytest.raises(ValidationError) as excinfo:
        user.validate_constraints()

    assert excinfo.value.messages == ["A user with that e-mail address already exists."]


def test_username_is_unique_ignoring_case_in_the_database():
    UserFactory(username="alice", email="alice@lab.example")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="ALICE", email="someone.else@lab.example")


def test_full_clean_reports_a_username_taken_in_another_case():
    UserFactory(username="alice", email="alice@lab.example")
    user = new_user_with(username="Alice", email="someone.else@lab.example")

    with pytest.raises(ValidationError) as excinfo:
        user.full_clean()

    assert "A user with that username already exists." in excinfo.value.messages


def test_full_clean_accepts_a_user_with_a_fresh_username_and_email():
    UserFactory(username="alice", email="alice@lab.example")

    new_user_with(username="bob", email="bob@lab.example").full_clean()


# disabled


def test_inactive_user_is_disabled():
    assert UserFactory.build(is_active=False).disabled is True


def test_active_user_is_not_disabled():
    assert UserFactory.build(is_active=True).disabled is False


def test_admin_rights_cannot_drift_from_the_role_even_through_queryset_update():
    admin = UserFactory(role=Role.ADMIN)

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=admin.pk).update(role=Role.REGULAR)

    assert User.objects.get(pk=admin.pk).role == Role.ADMIN


def test_a_user_needs_an_email_address():
    with pytest.raises(ValueError, match="needs an e-mail address"):
        User.objects.create_user("noemail", password="x")

    assert not User.objects.filter(username="noemail").exists()


def test_login_lookup_ignores_the_case_of_the_username():
    jsmith = UserFactory(username="jsmith")

    assert User.objects.get_by_natural_key("JSmith") == jsmith
