"""Changes made in the Django admin are in the audit trail as the portal's are: names of fields, never values."""

import json

import pytest
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory
from machines.tests.test_admin import form_data

pytestmark = pytest.mark.django_db

VM_PASSWORD = "admin-typed-vm-password-55"


def events(action):
    return list(AuditEvent.objects.filter(action=action).values_list("target_label", "details"))


def trail():
    return json.dumps(list(AuditEvent.objects.values()), default=str)


def test_a_vm_added_in_the_admin_is_recorded_with_its_secret_but_not_the_value(admin_client, admin):
    url = reverse("admin:machines_virtualmachine_add")
    data = form_data(admin_client, url, name="db", host="db.lab", port="22", username="ops", owner=admin.pk)

    admin_client.post(url, {**data, "new_password": VM_PASSWORD})

    details = {"assigned_to": None, "shared": True, "password_set": True, "ssh_key_set": False, "via": "admin"}
    assert events(Action.VM_CREATE) == [("db", details)]
    assert VM_PASSWORD not in trail()


def test_a_vm_changed_in_the_admin_records_the_fields_and_the_removed_secret(admin_client):
    vm = VirtualMachineFactory(name="db", password=VM_PASSWORD)
    url = reverse("admin:machines_virtualmachine_change", args=[vm.pk])

    admin_client.post(url, form_data(admin_client, url, name="db-2", port="2222", remove_password="on"))

    assert events(Action.VM_UPDATE) == [("db-2", {"fields": ["name", "port"], "via": "admin"})]
    assert events(Action.SECRET_REMOVE) == [("db-2", {"field": "password", "via": "admin"})]


def test_sharing_and_assigning_in_the_admin_are_recorded_as_in_the_portal(admin_client):
    vm = VirtualMachineFactory(name="db", shared=True)
    assignee = UserFactory(username="dpeters", role=Role.REGULAR)
    url = reverse("admin:machines_virtualmachine_change", args=[vm.pk])

    admin_client.post(url, form_data(admin_client, url, shared="", assigned_to=assignee.pk))

    assert events(Action.VM_SHARE) == [("db", {"shared": False, "via": "admin"})]
    assert events(Action.VM_ASSIGN) == [("db", {"assigned_to": "dpeters", "via": "admin"})]
    assert not events(Action.VM_UPDATE)


def test_saving_an_unchanged_vm_in_the_admin_records_nothing_and_keeps_open_forms_valid(admin_client):
    vm = VirtualMachineFactory(name="db")
    url = reverse("admin:machines_virtualmachine_change", args=[vm.pk])

    admin_client.post(url, form_data(admin_client, url))

    assert not AuditEvent.objects.exclude(action=Action.LOGIN).exists()
    assert VirtualMachine.objects.get(pk=vm.pk).version == vm.version


@pytest.mark.parametrize("how", ["one", "bulk"])
def test_vms_deleted_in_the_admin_are_recorded_and_the_rows_outlive_them(admin_client, how):
    vm = VirtualMachineFactory(name="db", host="db.lab")
    if how == "one":
        admin_client.post(reverse("admin:machines_virtualmachine_delete", args=[vm.pk]), {"post": "yes"})
    else:
        admin_client.post(
            reverse("admin:machines_virtualmachine_changelist"),
            {"action": "delete_selected", "_selected_action": [vm.pk], "post": "yes"},
        )

    assert not VirtualMachine.objects.exists()
    assert events(Action.VM_DELETE) == [("db", {"host": "db.lab", "via": "admin"})]


def test_a_user_added_in_the_admin_is_recorded(admin_client):
    url = reverse("admin:accounts_user_add")
    data = {"username": "newbie", "email": "newbie@lab.example", "role": Role.REGULAR, "usable_password": "true"}

    admin_client.post(url, {**data, "password1": "A-long-lab-passphrase-1", "password2": "A-long-lab-passphrase-1"})

    assert events(Action.USER_CREATE) == [("newbie", {"role": Role.REGULAR, "via": "admin"})]
    assert "A-long-lab-passphrase-1" not in trail()


def test_a_profile_changed_in_the_admin_records_the_field_names(admin_client):
    user = UserFactory(username="jlee", email="jlee@lab.example")
    url = reverse("admin:accounts_user_change", args=[user.pk])

    admin_client.post(url, form_data(admin_client, url, email="lee@lab.example"))

    assert events(Action.USER_PROFILE) == [("jlee", {"fields": ["email"], "via": "admin"})]


def test_a_password_set_by_an_admin_is_recorded_without_the_password(admin_client):
    user = UserFactory(username="jlee")
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    new = "An-admin-chosen-passphrase-7"

    response = admin_client.post(url, {"password1": new, "password2": new, "usable_password": "true"})

    assert response.status_code == 302
    assert events(Action.PASSWORD_CHANGE) == [("jlee", {"how": "admin", "via": "admin"})]
    assert new not in trail()


def test_a_refused_password_in_the_admin_records_nothing(admin_client):
    user = UserFactory(username="jlee")
    url = reverse("admin:auth_user_password_change", args=[user.pk])

    admin_client.post(url, {"password1": "short", "password2": "other", "usable_password": "true"})

    assert not AuditEvent.objects.filter(action=Action.PASSWORD_CHANGE).exists()


def test_a_disabled_user_deleted_in_the_admin_goes_through_the_rules_and_the_trail(admin_client):
    user = UserFactory(username="gone", is_active=False, role=Role.SIDEKICK)
    VirtualMachineFactory(owner=user)

    admin_client.post(reverse("admin:accounts_user_delete", args=[user.pk]), {"post": "yes"})

    assert events(Action.USER_DELETE) == [("gone", {"vms": 1, "bookmarks": 0, "via": "admin"})]


def test_the_password_page_of_a_malformed_user_id_is_a_404_not_an_error(admin_client):
    assert admin_client.get("/admin/accounts/user/not-a-number/password/").status_code == 404


def test_the_admins_user_actions_record_where_they_came_from(admin_client):
    newcomer = UserFactory(username="newbie", role=Role.NEW_USER)

    admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "approve_as_regular", "_selected_action": [newcomer.pk]},
        REMOTE_ADDR="192.0.2.44",
        HTTP_USER_AGENT="AdminBrowser/1.0",
    )

    event = AuditEvent.objects.get(action=Action.USER_APPROVE)
    assert (event.target_label, event.ip, event.user_agent) == ("newbie", "192.0.2.44", "AdminBrowser/1.0")
