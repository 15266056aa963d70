import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.roles import Role
from accounts.models import User
from accounts.tests.factories import UserFactory
from bookmarks.models import Bookmark
from bookmarks.tests.factories import BookmarkFactory
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:accounts_user_changelist")
ADD_URL = reverse("admin:accounts_user_add")
NEW_ACCOUNT_PASSWORD = "Vm-lab-unusual-9431-pass"


def change_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


def delete_url(user):
    return reverse("admin:accounts_user_delete", args=[user.pk])


def run_action(client, action, *users):
    """Tick `users` in the changelist, pick `action` and press Go, as an admin does."""
    return client.post(CHANGELIST_URL, {"action": action, "_selected_action": [user.pk for user in users]}, follow=True)


def messages_of(response):
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


def reload(user):
    return User.objects.get(pk=user.pk)


def test_changelist_answers_200_for_an_admin(admin_client):
    UserFactory(username="kteo")

    response = admin_client.get(CHANGELIST_URL)

    assert response.status_code == 200
    assert "kteo" in response.text


def test_add_page_answers_200_for_an_admin(admin_client):
    assert admin_client.get(ADD_URL).status_code == 200


def test_change_page_answers_200_for_an_admin(admin_client):
    response = admin_client.get(change_url(UserFactory(username="kteo")))

    assert response.status_code == 200
    assert 'value="kteo"' in response.text


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SIDEKICK])
def test_a_non_admin_is_sent_to_the_admin_login_page(client, role):
    client.force_login(UserFactory(role=role))

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_a_user_awaiting_approval_is_sent_to_the_waiting_page_from_the_admin(client):
    client.force_login(UserFactory(role=Role.NEW_USER))

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response.url == reverse("accounts:waiting")


def test_a_disabled_admin_is_sent_to_the_admin_login_page(client):
    client.force_login(UserFactory(role=Role.ADMIN, is_active=False))

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_a_manager_cannot_open_the_user_list(client):
    client.force_login(UserFactory(role=Role.MANAGER))

    response = client.get(CHANGELIST_URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def add_user(client, *, username, role):
    return client.post(
        ADD_URL,
        {
            "username": username,
            "email": f"{username}@lab.example",
            "role": role,
            "password1": NEW_ACCOUNT_PASSWORD,
            "password2": NEW_ACCOUNT_PASSWORD,
        },
    )


def test_adding_a_manager_creates_a_user_without_admin_rights(admin_client):
    response = add_user(admin_client, username="slong", role=Role.MANAGER)

    assert response.status_code == 302
    created = User.objects.get(username="slong")
    assert (created.role, created.is_staff, created.is_superuser) == (Role.MANAGER, False, False)
    assert created.check_password(NEW_ACCOUNT_PASSWORD)


def test_adding_an_admin_is_refused_because_admins_grant_roles_up_to_manager(admin_client):
    response = add_user(admin_client, username="jsmith2", role=Role.ADMIN)

    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert not User.objects.filter(username="jsmith2").exists()


def test_role_cannot_be_edited_on_the_change_page(admin_client):
    newcomer = UserFactory(role=Role.NEW_USER)
    url = reverse("admin:accounts_user_change", args=[newcomer.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}

    response = admin_client.post(url, {**data, "role": Role.ADMIN})

    assert response.status_code == 302
    newcomer.refresh_from_db()
    assert (newcomer.role, newcomer.is_staff) == (Role.NEW_USER, False)


@pytest.mark.parametrize(
    ("action", "expected"),
    [("set_role_regular", Role.REGULAR), ("set_role_sidekick", Role.SIDEKICK), ("set_role_manager", Role.MANAGER)],
)
def test_set_role_actions_change_the_role_of_sidekicks_and_regulars(admin_client, action, expected):
    member = UserFactory(role=Role.REGULAR if expected != Role.REGULAR else Role.SIDEKICK)

    response = admin_client.post(CHANGELIST_URL, {"action": action, "_selected_action": [member.pk]}, follow=True)

    member.refresh_from_db()
    assert member.role == expected
    assert "are now" in response.text


def test_set_role_action_refuses_to_demote_another_admin(admin_client):
    other_admin = UserFactory(role=Role.ADMIN)

    response = admin_client.post(
        CHANGELIST_URL, {"action": "set_role_regular", "_selected_action": [other_admin.pk]}, follow=True
    )

    other_admin.refresh_from_db()
    assert (other_admin.role, other_admin.is_staff) == (Role.ADMIN, True)
    assert "You cannot change" in response.text


def test_adding_a_user_whose_email_differs_only_in_case_is_refused(admin_client):
    UserFactory(username="kteo", email="kteo@lab.example")

    response = admin_client.post(
        ADD_URL,
        {
            "username": "kteo2",
            "email": "KTEO@lab.example",
            "role": Role.REGULAR,
            "password1": NEW_ACCOUNT_PASSWORD,
            "password2": NEW_ACCOUNT_PASSWORD,
        },
    )

    assert response.status_code == 200
    assert not User.objects.filter(username="kteo2").exists()


@pytest.mark.parametrize(
    ("action", "role"),
    [
        ("approve_as_regular", Role.REGULAR),
        ("approve_as_sidekick", Role.SIDEKICK),
        ("approve_as_manager", Role.MANAGER),
    ],
)
def test_approving_new_users_gives_them_the_chosen_role(admin_client, action, role):
    newcomers = UserFactory.create_batch(2, role=Role.NEW_USER)

    response = run_action(admin_client, action, *newcomers)

    assert [reload(user).role for user in newcomers] == [role, role]
    assert messages_of(response) == [("success", f"2 user(s) approved as {role.label}.")]


@pytest.mark.parametrize(
    ("action", "current_role"),
    [
        ("approve_as_regular", Role.SIDEKICK),
        ("approve_as_sidekick", Role.REGULAR),
        ("approve_as_manager", Role.REGULAR),
    ],
)
def test_approving_an_already_approved_user_is_refused_with_a_warning(admin_client, action, current_role):
    approved = UserFactory(username="dpeters", role=current_role)
    newcomer = UserFactory(username="rbriggs", role=Role.NEW_USER)

    response = run_action(admin_client, action, approved, newcomer)

    assert reload(approved).role == current_role
    assert reload(newcomer).role != Role.NEW_USER
    assert ("warning", "User dpeters is not waiting for approval.") in messages_of(response)


def test_disabling_users_blocks_them_and_shares_their_vms(admin_client):
    mgarcia, jlee = UserFactory(username="mgarcia"), UserFactory(username="jlee")
    private_vms = [VirtualMachineFactory(owner=mgarcia, shared=False), VirtualMachineFactory(owner=jlee, shared=False)]
    someone_elses = VirtualMachineFactory(shared=False)

    response = run_action(admin_client, "disable", mgarcia, jlee)

    assert (reload(mgarcia).is_active, reload(jlee).is_active) == (False, False)
    assert all(VirtualMachine.objects.get(pk=vm.pk).shared for vm in private_vms)
    assert VirtualMachine.objects.get(pk=someone_elses.pk).shared is False
    assert messages_of(response) == [("success", "2 user(s) disabled; their VMs are now shared.")]


def test_an_admin_cannot_disable_themselves(admin_client, admin):
    other = UserFactory(username="jlee")

    response = run_action(admin_client, "disable", admin, other)

    assert reload(admin).is_active is True
    assert reload(other).is_active is False
    assert ("warning", "You cannot disable your own account.") in messages_of(response)


def test_enabling_users_lets_them_back_in(admin_client):
    disabled = UserFactory(username="jlee", is_active=False)

    response = run_action(admin_client, "enable", disabled)

    assert reload(disabled).is_active is True
    assert messages_of(response) == [("success", "1 user(s) enabled.")]


def form_data(client, url, **changes):
    """What a browser would post back from the admin form at `url`, with `changes` typed in."""
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data.update(changes)
    return {name: "" if value is None else value for name, value in data.items()}


def test_the_change_page_saves_a_new_name(admin_client):
    user = UserFactory(first_name="Kim")
    url = change_url(user)

    response = admin_client.post(url, form_data(admin_client, url, first_name="Kimberly"))

    assert response.status_code == 302
    assert reload(user).first_name == "Kimberly"


def test_the_change_page_cannot_disable_a_user_behind_the_disable_action(admin_client):
    # Disabling also shares the user's VMs: only the action does both, so the flag is read-only here.
    user = UserFactory()
    vm = VirtualMachineFactory(owner=user, shared=False)
    url = change_url(user)

    response = admin_client.post(url, {**form_data(admin_client, url), "is_active": ""})

    assert response.status_code == 302
    assert reload(user).is_active is True
    assert VirtualMachine.objects.get(pk=vm.pk).shared is False


def test_bulk_delete_is_not_offered(admin_client):
    users = UserFactory.create_batch(2, is_active=False)

    page = admin_client.get(CHANGELIST_URL)
    response = run_action(admin_client, "delete_selected", *users)

    assert 'value="disable"' in page.text
    assert 'value="delete_selected"' not in page.text
    assert User.objects.filter(pk__in=[user.pk for user in users]).count() == 2
    assert ("warning", "No action selected.") in messages_of(response)


def test_the_delete_page_of_an_active_user_is_forbidden(admin_client):
    active = UserFactory()

    assert admin_client.get(delete_url(active)).status_code == 403
    assert admin_client.post(delete_url(active), {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=active.pk).exists()


def test_deleting_a_disabled_user_removes_their_vms_and_bookmarks(admin_client, admin):
    leaver = UserFactory(is_active=False)
    VirtualMachineFactory.create_batch(2, owner=leaver, password="pw-leaver")
    BookmarkFactory.create_batch(2, owner=leaver)
    kept_vm, kept_bookmark = VirtualMachineFactory(owner=admin), BookmarkFactory(owner=admin)

    confirmation = admin_client.get(delete_url(leaver))
    response = admin_client.post(delete_url(leaver), {"post": "yes"})

    assert confirmation.status_code == 200
    assert response.status_code == 302
    assert not User.objects.filter(pk=leaver.pk).exists()
    assert list(VirtualMachine.objects.all()) == [kept_vm]
    assert list(Bookmark.objects.all()) == [kept_bookmark]


def test_a_disabled_user_can_be_deleted_when_their_vm_secrets_no_longer_decrypt(admin_client, settings):
    leaver = UserFactory(is_active=False)
    VirtualMachineFactory(owner=leaver, name="orphan-box", password="pw-leaver")
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)

    confirmation = admin_client.get(delete_url(leaver))
    response = admin_client.post(delete_url(leaver), {"post": "yes"})

    assert confirmation.status_code == 200
    assert "orphan-box" in confirmation.text
    assert response.status_code == 302
    assert not User.objects.filter(pk=leaver.pk).exists()


def test_the_change_page_never_shows_the_full_password_hash(admin_client):
    user = UserFactory()
    _algorithm, salt, digest = user.password.split("$")

    html = admin_client.get(change_url(user)).text

    assert "md5" in html  # the masked summary is there, so the test looks at the right widget
    for part in (user.password, salt, digest):
        assert part not in html


def test_user_changelist_runs_the_same_number_of_queries_for_n_and_2n_users(admin_client):
    def queries_for_page():
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(reverse("admin:accounts_user_changelist")).status_code == 200
        return len(queries)

    UserFactory.create_batch(10)
    with_n = queries_for_page()
    UserFactory.create_batch(10)

    assert queries_for_page() == with_n


def test_each_action_is_recorded_in_the_users_admin_history(admin_client):
    newcomer = UserFactory(role=Role.NEW_USER)

    admin_client.post(CHANGELIST_URL, {"action": "approve_as_sidekick", "_selected_action": [newcomer.pk]})
    admin_client.post(CHANGELIST_URL, {"action": "disable", "_selected_action": [newcomer.pk]})

    history = admin_client.get(reverse("admin:accounts_user_history", args=[newcomer.pk])).text
    assert "Approved as Sidekick." in history
    assert "Disabled; VMs made shared." in history


def test_groups_are_not_offered_because_roles_decide_access(admin_client):
    index = admin_client.get(reverse("admin:index")).text

    assert "Groups" not in index
    assert "Users" in index
