"""Two people editing the same VM: a form opened before someone else's change cannot silently undo it.

Every change moves VirtualMachine.version on; edit forms carry the version they were opened at, and a
save from an older one is refused with the current values shown. Saving the re-shown form again then
overwrites them deliberately.
"""

import re
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from machines import services
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory
from machines.tests.test_admin import form_data
from machines.versioning import StaleVersion
from people import services as people_services

pytestmark = pytest.mark.django_db

VM_PASSWORD = "concurrent-vm-password-17"
NEW_VM_PASSWORD = "changed-meanwhile-password-29"
STALE = "Someone else changed this VM after you opened this form, so nothing was saved."
MISSING = "This form is out of date"
DIFFER = "The saved values that differ from yours:"
ELSEWHERE = "The saved values match yours: the other change was to something this form does not show."


def url(name, vm):
    return reverse(f"machines:{name}", args=[vm.pk])


def admin_change_url(vm):
    return reverse("admin:machines_virtualmachine_change", args=[vm.pk])


def logged_in_client(user):
    client = Client()
    client.force_login(user)
    return client


def stored(vm):
    return VirtualMachine.objects.get(pk=vm.pk)


def version_shown(html):
    """The version the hidden field of the page's form holds, as a browser would post it back."""
    return re.search(r'<input type="hidden" name="opened_version" value="(\d+)"', html).group(1)


def vm_update_events():
    return AuditEvent.objects.filter(action=Action.VM_UPDATE).count()


@pytest.fixture
def owner():
    return UserFactory(role=Role.SIDEKICK)


@pytest.fixture
def vm(owner):
    return VirtualMachineFactory(
        owner=owner, name="build", host="build.lab.example", port=22, username="ci", shared=True, password=VM_PASSWORD
    )


@pytest.fixture
def alice(owner):
    """The owner, in her browser."""
    return logged_in_client(owner)


@pytest.fixture
def bob(admin):
    """An admin, who may edit the owner's shared VM too, in his own browser."""
    return logged_in_client(admin)


def open_edit_form(client, vm, **typed):
    """GET the edit page and return what its form posts back once `typed` is filled in."""
    response = client.get(url("edit", vm))
    assert response.status_code == 200
    data = {
        "name": vm.name,
        "host": vm.host,
        "port": str(vm.port),
        "username": vm.username,
        "shared": "on",
        "opened_version": version_shown(response.text),
    }
    return {**data, **typed}


# -- The portal's edit page ------------------------------------------------------------------------


def test_the_edit_page_carries_the_current_version_in_a_hidden_field(alice, vm, owner):
    assert version_shown(alice.get(url("edit", vm)).text) == "1"

    services.vm_set_shared(vm=vm, actor=owner, shared=False)

    assert version_shown(alice.get(url("edit", vm)).text) == "2"


def test_of_two_people_saving_at_once_the_first_wins_and_the_second_is_refused(alice, bob, vm):
    alices_form = open_edit_form(alice, vm, name="alices-name", port="2201")
    bobs_form = open_edit_form(bob, vm, name="bobs-name", host="bob.lab.example")

    assert alice.post(url("edit", vm), alices_form).status_code == 302
    response = bob.post(url("edit", vm), bobs_form)

    assert response.status_code == 200
    assert STALE in response.text
    assert "Your values are still in the form; save again to replace the saved ones with yours." in response.text
    assert "Name: “alices-name”" in response.text
    assert "SSH port: 2201" in response.text
    assert "Username:" not in response.text  # neither of them changed it: nothing to review there
    assert 'value="bobs-name"' in response.text and 'value="bob.lab.example"' in response.text
    saved = stored(vm)
    assert (saved.name, saved.host, saved.port) == ("alices-name", "build.lab.example", 2201)
    assert vm_update_events() == 1


def test_saving_again_after_the_refusal_overwrites_the_other_change_deliberately(alice, bob, vm):
    alices_form = open_edit_form(alice, vm, name="alices-name")
    bobs_form = open_edit_form(bob, vm, name="bobs-name")
    alice.post(url("edit", vm), alices_form)
    refused = bob.post(url("edit", vm), bobs_form)
    assert STALE in refused.text

    response = bob.post(url("edit", vm), {**bobs_form, "opened_version": version_shown(refused.text)})

    assert response.status_code == 302
    assert stored(vm).name == "bobs-name"
    assert vm_update_events() == 2


def test_a_password_change_between_opening_and_saving_makes_the_edit_form_stale(alice, bob, vm):
    alices_form = open_edit_form(alice, vm, name="alices-name")
    changed = bob.post(url("password", vm), {"password": NEW_VM_PASSWORD})
    assert changed.status_code == 302

    response = alice.post(url("edit", vm), alices_form)

    assert response.status_code == 200
    assert STALE in response.text
    assert f"{DIFFER} Name: “build”." in response.text  # hers differs; the password is never shown
    assert NEW_VM_PASSWORD not in response.text and VM_PASSWORD not in response.text
    assert (stored(vm).name, stored(vm).password) == ("build", NEW_VM_PASSWORD)
    assert vm_update_events() == 0


def test_a_stale_form_whose_values_match_the_saved_ones_is_saved_as_it_undoes_nothing(alice, bob, vm):
    alices_form = open_edit_form(alice, vm)
    bob.post(url("password", vm), {"password": NEW_VM_PASSWORD})

    response = alice.post(url("edit", vm), alices_form, follow=True)

    assert response.redirect_chain == [(url("detail", vm), 302)]
    assert "Nothing changed." in response.text
    assert stored(vm).password == NEW_VM_PASSWORD


def test_a_stale_form_that_typed_what_the_other_change_saved_is_saved_too(alice, bob, vm):
    alices_form = open_edit_form(alice, vm, host="moved.lab.example")
    bob.post(url("edit", vm), open_edit_form(bob, vm, host="moved.lab.example"))

    response = alice.post(url("edit", vm), alices_form)

    assert response.status_code == 302
    assert stored(vm).host == "moved.lab.example"


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (None, MISSING),
        ("", MISSING),
        ("abc", MISSING),
        ("0", MISSING),
        ("-4", MISSING),
        ("99999999999999999999", MISSING),
        ("2", STALE),  # a version the VM has not reached: not the one it is at
    ],
    ids=["missing", "empty", "not-a-number", "zero", "negative", "too-large", "future"],
)
def test_a_missing_or_forged_version_is_refused_with_a_message_and_can_be_saved_again(alice, vm, version, message):
    form = open_edit_form(alice, vm, name="renamed")
    form.pop("opened_version")
    if version is not None:
        form["opened_version"] = version

    response = alice.post(url("edit", vm), form)

    assert response.status_code == 200
    assert message in response.text
    assert stored(vm).name == "build"
    assert vm_update_events() == 0
    assert version_shown(response.text) == "1"
    resent = alice.post(url("edit", vm), {**form, "opened_version": version_shown(response.text)})
    assert resent.status_code == 302
    assert stored(vm).name == "renamed"


def test_a_change_landing_after_the_forms_check_is_caught_by_the_services_write(alice, bob, vm, admin, monkeypatch):
    alices_form = open_edit_form(alice, vm, name="alices-name")
    update = services.vm_update

    def update_after_someone_else_shared_it(**kwargs):
        services.vm_set_shared(vm=stored(vm), actor=admin, shared=False)
        return update(**kwargs)

    monkeypatch.setattr(services, "vm_update", update_after_someone_else_shared_it)
    response = alice.post(url("edit", vm), alices_form)

    assert response.status_code == 200
    assert STALE in response.text
    assert "Shared: no" in response.text
    assert stored(vm).name == "build"
    assert version_shown(response.text) == "2"


# -- The service -------------------------------------------------------------------------------------


def test_of_two_copies_read_at_the_same_version_only_the_first_can_be_saved(vm, owner):
    first, second = stored(vm), stored(vm)
    services.vm_update(vm=first, actor=owner, name="first")

    with pytest.raises(StaleVersion) as refused:
        services.vm_update(vm=second, actor=owner, name="second")

    assert (stored(vm).name, stored(vm).version) == ("first", 2)
    assert (refused.value.current.name, refused.value.current.version) == ("first", 2)
    assert first.version == 2
    assert vm_update_events() == 1


def test_an_explicit_expected_version_is_what_the_write_is_checked_against(vm, owner):
    services.vm_update(vm=stored(vm), actor=owner, name="first")

    with pytest.raises(StaleVersion):
        services.vm_update(vm=stored(vm), actor=owner, expected_version=1, name="second")
    services.vm_update(vm=stored(vm), actor=owner, expected_version=2, name="third")

    assert stored(vm).name == "third"


def test_a_change_committed_between_the_services_check_and_its_write_is_not_overwritten(vm, owner, monkeypatch):
    full_clean = VirtualMachine.full_clean

    def full_clean_while_someone_else_renames_it(instance, *args, **kwargs):
        VirtualMachine.objects.filter(pk=instance.pk).update(name="meanwhile", version=F("version") + 1)
        return full_clean(instance, *args, **kwargs)

    monkeypatch.setattr(VirtualMachine, "full_clean", full_clean_while_someone_else_renames_it)

    with pytest.raises(StaleVersion) as refused:
        services.vm_update(vm=stored(vm), actor=owner, name="mine", port=2222)

    assert refused.value.current.name == "meanwhile"
    # The stand-in for the other writer shares this test's transaction, so the refusal rolled it back too.
    assert (stored(vm).name, stored(vm).port) == ("build", 22)
    assert vm_update_events() == 0


@pytest.mark.parametrize(
    "change",
    [
        lambda vm, actor, key: services.vm_set_password(vm=vm, actor=actor, password=NEW_VM_PASSWORD),
        lambda vm, actor, key: services.vm_remove_password(vm=vm, actor=actor),
        lambda vm, actor, key: services.vm_set_ssh_key(vm=vm, actor=actor, ssh_key=key),
        lambda vm, actor, key: services.vm_remove_ssh_key(vm=vm, actor=actor),
        lambda vm, actor, key: services.vm_set_shared(vm=vm, actor=actor, shared=False),
        lambda vm, actor, key: services.vm_assign(vm=vm, actor=actor, assignee=UserFactory(role=Role.REGULAR)),
        lambda vm, actor, key: services.vm_update(vm=vm, actor=actor, host="moved.lab.example"),
    ],
    ids=["set-password", "remove-password", "set-ssh-key", "remove-ssh-key", "share", "assign", "update"],
)
def test_every_change_through_the_services_makes_an_older_copy_stale(vm, owner, admin, ssh_private_key, change):
    older = stored(vm)
    changed = stored(vm)

    change(changed, admin, ssh_private_key)

    assert stored(vm).version == changed.version == 2
    with pytest.raises(StaleVersion):
        services.vm_update(vm=older, actor=owner, name="from-an-older-copy")
    assert stored(vm).name == "build"


def test_key_rotation_is_not_a_change_an_open_form_must_review(alice, vm, settings, ssh_private_key):
    services.vm_set_ssh_key(vm=stored(vm), actor=vm.owner, ssh_key=ssh_private_key)
    alices_form = open_edit_form(alice, vm, name="after-rotation")
    tokens_before = VirtualMachine.objects.values_list("password", "ssh_key").get(pk=vm.pk)
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS)

    call_command("rotate_encryption_keys", stdout=StringIO())

    assert VirtualMachine.objects.values_list("password", "ssh_key").get(pk=vm.pk) != tokens_before
    assert stored(vm).version == 2
    assert alice.post(url("edit", vm), alices_form).status_code == 302
    assert (stored(vm).name, stored(vm).password, stored(vm).ssh_key) == (
        "after-rotation",
        VM_PASSWORD,
        ssh_private_key,
    )


# -- The Django admin's change form --------------------------------------------------------------------


def admin_form_data(client, vm, **changes):
    return form_data(client, admin_change_url(vm), **changes)


@pytest.fixture
def carol():
    """A second admin, in her own browser."""
    return logged_in_client(UserFactory(role=Role.ADMIN))


def test_the_admin_change_form_renders_the_version_hidden_and_the_add_form_has_none(bob, vm):
    change_page = bob.get(admin_change_url(vm))
    add_page = bob.get(reverse("admin:machines_virtualmachine_add"))

    assert version_shown(change_page.text) == "1"
    assert "opened_version" not in add_page.text


def test_of_two_admins_saving_at_once_the_second_is_refused_and_can_save_again(bob, carol, vm):
    bobs_form = admin_form_data(bob, vm, name="bobs-name")
    carols_form = admin_form_data(carol, vm, name="carols-name", port="2202")

    assert bob.post(admin_change_url(vm), bobs_form).status_code == 302
    refused = carol.post(admin_change_url(vm), carols_form)

    assert refused.status_code == 200
    assert STALE in refused.text
    assert "Name: “bobs-name”" in refused.text
    assert (stored(vm).name, stored(vm).port, stored(vm).version) == ("bobs-name", 22, 2)

    again = carol.post(admin_change_url(vm), {**carols_form, "opened_version": version_shown(refused.text)})

    assert again.status_code == 302
    assert (stored(vm).name, stored(vm).port, stored(vm).version) == ("carols-name", 2202, 3)


def test_a_password_change_in_the_portal_makes_an_open_admin_form_stale(bob, alice, vm):
    bobs_form = admin_form_data(bob, vm, new_password="typed-by-bob-31")
    assert alice.post(url("password", vm), {"password": NEW_VM_PASSWORD}).status_code == 302

    response = bob.post(admin_change_url(vm), bobs_form)

    assert response.status_code == 200
    assert STALE in response.text
    assert ELSEWHERE in response.text
    assert "typed-by-bob-31" not in response.text and NEW_VM_PASSWORD not in response.text
    assert stored(vm).password == NEW_VM_PASSWORD


def test_an_admin_save_makes_an_open_portal_form_stale(alice, bob, vm):
    alices_form = open_edit_form(alice, vm, name="alices-name")
    assert bob.post(admin_change_url(vm), admin_form_data(bob, vm, host="admin.lab.example")).status_code == 302

    response = alice.post(url("edit", vm), alices_form)

    assert STALE in response.text
    assert "Host: “admin.lab.example”" in response.text
    assert stored(vm).name == "build"


@pytest.mark.parametrize("version", [None, "", "abc", "0"], ids=["missing", "empty", "not-a-number", "zero"])
def test_a_missing_or_forged_version_in_the_admin_is_refused_with_a_message(bob, vm, version):
    data = admin_form_data(bob, vm, name="renamed")
    data.pop("opened_version")
    if version is not None:
        data["opened_version"] = version

    response = bob.post(admin_change_url(vm), data)

    assert response.status_code == 200
    assert MISSING in response.text
    assert (stored(vm).name, stored(vm).version) == ("build", 1)


@pytest.mark.skipif(not connection.features.has_select_for_update, reason="the database has no row locks")
def test_the_admin_reads_the_vm_it_saves_under_a_row_lock(bob, vm):
    data = admin_form_data(bob, vm, name="renamed")

    with CaptureQueriesContext(connection) as queries:
        bob.post(admin_change_url(vm), data)

    assert any("FOR UPDATE" in query["sql"] and "machines_virtualmachine" in query["sql"] for query in queries)


def test_disabling_the_owner_makes_an_open_admin_form_of_their_private_vm_stale(bob, vm, owner, admin):
    VirtualMachine.objects.filter(pk=vm.pk).update(shared=False)
    typed = admin_form_data(bob, vm, name="renamed")  # opened while the VM is private

    people_services.user_disable(user=owner, actor=admin)  # which shares the owner's VMs
    response = bob.post(admin_change_url(vm), typed)

    assert STALE in response.text
    assert stored(vm).shared is True


def test_a_vm_deleted_while_its_edit_form_is_saved_gives_404_not_an_error(alice, vm, owner, monkeypatch):
    typed = open_edit_form(alice, vm, name="renamed")
    real_update = services.vm_update

    def deleted_first(**kwargs):
        VirtualMachine.objects.filter(pk=vm.pk).delete()
        return real_update(**kwargs)

    monkeypatch.setattr(services, "vm_update", deleted_first)

    assert alice.post(url("edit", vm), typed).status_code == 404
