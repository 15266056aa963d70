import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.views.debug import SafeExceptionReporterFilter

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from machines.admin import VirtualMachineAdmin
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Tr0ub4dor-3-plain"
NEW_PASSWORD = "pw-correct-horse-9431"
GARBAGE_IN_KEY_ARMOUR = "-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n-----END OPENSSH PRIVATE KEY-----\n"

CHANGELIST_URL = reverse("admin:machines_virtualmachine_changelist")
ADD_URL = reverse("admin:machines_virtualmachine_add")


def change_url(vm):
    return reverse("admin:machines_virtualmachine_change", args=[vm.pk])


@pytest.fixture
def vm(ssh_private_key):
    return VirtualMachineFactory(name="build-box", password=PASSWORD, ssh_key=ssh_private_key)


def secret_fragments(ssh_private_key):
    """The password and every line of the key: none of them may ever reach a page."""
    return [PASSWORD, *(line for line in ssh_private_key.splitlines() if line.strip())]


def form_data(client, url, **changes):
    """What a browser would post back from the admin form at `url`, with `changes` typed in."""
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data.update(changes)
    return {name: "" if value is None else value for name, value in data.items()}


def row_of(html, name):
    """The changelist table row that links to the VM called `name`."""
    rows = [row for row in re.findall(r"<tr>.*?</tr>", html, re.DOTALL) if f">{name}</a>" in row]
    assert len(rows) == 1, f"expected one row for {name}"
    return rows[0]


def boolean_column(row, column):
    return re.search(rf'class="field-{column}"><img [^>]*alt="(True|False)"', row).group(1)


def reload(vm):
    return VirtualMachine.objects.get(pk=vm.pk)


def test_changelist_answers_200_for_an_admin(admin_client, vm):
    response = admin_client.get(CHANGELIST_URL)

    assert response.status_code == 200
    assert "build-box" in response.text


def test_add_page_answers_200_for_an_admin(admin_client):
    assert admin_client.get(ADD_URL).status_code == 200


def test_change_page_answers_200_for_an_admin(admin_client, vm):
    response = admin_client.get(change_url(vm))

    assert response.status_code == 200
    assert 'value="build-box"' in response.text


def test_changelist_never_renders_a_secret(admin_client, vm, ssh_private_key):
    html = admin_client.get(CHANGELIST_URL).text

    assert "build-box" in html
    for fragment in secret_fragments(ssh_private_key):
        assert fragment not in html


def test_change_page_never_renders_a_secret(admin_client, vm, ssh_private_key):
    html = admin_client.get(change_url(vm)).text

    assert 'value="build-box"' in html
    for fragment in secret_fragments(ssh_private_key):
        assert fragment not in html


def test_add_page_never_renders_an_existing_secret(admin_client, vm, ssh_private_key):
    html = admin_client.get(ADD_URL).text

    for fragment in secret_fragments(ssh_private_key):
        assert fragment not in html


@pytest.mark.parametrize("page", ["change", "add"])
def test_no_form_field_holds_a_secret_as_its_value(admin_client, vm, page):
    form = admin_client.get(change_url(vm) if page == "change" else ADD_URL).context["adminform"].form

    values = [*form.initial.values(), *(form[name].value() for name in form.fields)]
    texts = [value for value in values if isinstance(value, str)]
    assert not {"password", "ssh_key"} & set(form.fields)
    assert not [text for text in texts if PASSWORD in text or "PRIVATE KEY" in text]


def test_changelist_shows_whether_a_password_and_a_key_are_set(admin_client, ssh_private_key):
    VirtualMachineFactory(name="with-both", password=PASSWORD, ssh_key=ssh_private_key)
    VirtualMachineFactory(name="password-only", password=PASSWORD)
    VirtualMachineFactory(name="with-none")

    html = admin_client.get(CHANGELIST_URL).text

    shown = {
        name: (boolean_column(row_of(html, name), "password_set"), boolean_column(row_of(html, name), "ssh_key_set"))
        for name in ("with-both", "password-only", "with-none")
    }
    assert shown == {
        "with-both": ("True", "True"),
        "password-only": ("True", "False"),
        "with-none": ("False", "False"),
    }


def test_changelist_runs_the_same_number_of_queries_for_n_and_2n_vms(admin_client, ssh_private_key):
    def add_vms(count):
        for _ in range(count):
            VirtualMachineFactory(password=PASSWORD, ssh_key=ssh_private_key, assigned_to=UserFactory())

    def changelist_queries():
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(CHANGELIST_URL).status_code == 200
        return len(queries)

    add_vms(3)
    with_n = changelist_queries()
    add_vms(3)
    with_2n = changelist_queries()

    assert with_2n == with_n


def test_changelist_never_decrypts_a_secret(admin_client, ssh_private_key, decrypt_calls):
    VirtualMachineFactory.create_batch(3, password=PASSWORD, ssh_key=ssh_private_key)

    response = admin_client.get(CHANGELIST_URL)

    assert response.status_code == 200
    assert decrypt_calls == []
    # The spy is wired where the field decrypts: reading both secrets goes through it.
    vm = VirtualMachine.objects.first()
    assert (vm.password, vm.ssh_key) == (PASSWORD, ssh_private_key)
    assert len(decrypt_calls) == 2


def test_change_page_never_decrypts_a_secret(admin_client, vm, decrypt_calls):
    response = admin_client.get(change_url(vm))

    assert response.status_code == 200
    assert decrypt_calls == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("build", {"build-box"}),
        ("db7.lab", {"database"}),
        ("grace", {"database", "web"}),
    ],
)
def test_changelist_search_matches_name_host_and_owner_username(admin_client, query, expected):
    grace = UserFactory(username="grace")
    VirtualMachineFactory(name="build-box", host="ci3.lab.example")
    VirtualMachineFactory(name="database", host="db7.lab.example", owner=grace)
    VirtualMachineFactory(name="web", host="www.lab.example", owner=grace)

    response = admin_client.get(CHANGELIST_URL, {"q": query})

    assert {vm.name for vm in response.context["cl"].result_list} == expected


def test_setting_a_new_password_stores_it_and_keeps_the_key(admin_client, vm, ssh_private_key):
    url = change_url(vm)

    response = admin_client.post(url, form_data(admin_client, url, new_password=NEW_PASSWORD))

    assert response.status_code == 302
    reloaded = reload(vm)
    assert reloaded.password == NEW_PASSWORD
    assert reloaded.ssh_key == ssh_private_key


def test_setting_a_new_key_stores_it_and_keeps_the_password(admin_client, vm, rsa_pem_private_key):
    url = change_url(vm)

    response = admin_client.post(url, form_data(admin_client, url, new_ssh_key=rsa_pem_private_key))

    assert response.status_code == 302
    reloaded = reload(vm)
    assert reloaded.ssh_key.strip() == rsa_pem_private_key.strip()
    assert reloaded.password == PASSWORD


def test_a_new_key_is_stored_exactly_as_pasted(admin_client, vm, rsa_pem_private_key):
    url = change_url(vm)

    admin_client.post(url, form_data(admin_client, url, new_ssh_key=rsa_pem_private_key))

    assert reload(vm).ssh_key == rsa_pem_private_key


def test_a_key_pasted_in_a_browser_is_stored_with_unix_line_endings(admin_client, vm, rsa_pem_private_key):
    url = change_url(vm)
    as_a_browser_posts_it = rsa_pem_private_key.replace("\n", "\r\n")

    admin_client.post(url, form_data(admin_client, url, new_ssh_key=as_a_browser_posts_it))

    assert "\r" not in reload(vm).ssh_key


def test_remove_password_clears_it_and_keeps_the_key(admin_client, vm, ssh_private_key):
    url = change_url(vm)

    response = admin_client.post(url, form_data(admin_client, url, remove_password=True))

    assert response.status_code == 302
    reloaded = reload(vm)
    assert reloaded.password is None
    assert reloaded.ssh_key == ssh_private_key


def test_remove_ssh_key_clears_it_and_keeps_the_password(admin_client, vm):
    url = change_url(vm)

    response = admin_client.post(url, form_data(admin_client, url, remove_ssh_key=True))

    assert response.status_code == 302
    reloaded = reload(vm)
    assert reloaded.ssh_key is None
    assert reloaded.password == PASSWORD


def public_key_of(private_key):
    key = serialization.load_ssh_private_key(private_key.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def passphrase_protected_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode()


@pytest.mark.parametrize(
    ("make_key", "message"),
    [
        (public_key_of, "This is a public key"),
        (lambda _: "not a key at all", "This is not a private key"),
        (lambda _: GARBAGE_IN_KEY_ARMOUR, "This is not a private key"),
        (lambda _: passphrase_protected_key(), "protected by a passphrase"),
    ],
    ids=["public-key", "garbage", "garbage-in-key-armour", "passphrase-protected"],
)
def test_an_unusable_ssh_key_is_refused_and_nothing_changes(admin_client, vm, ssh_private_key, make_key, message):
    url = change_url(vm)
    data = form_data(admin_client, url, name="renamed", new_ssh_key=make_key(ssh_private_key))

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["new_ssh_key"])
    reloaded = reload(vm)
    assert (reloaded.name, reloaded.ssh_key, reloaded.password) == ("build-box", ssh_private_key, PASSWORD)


@pytest.mark.parametrize("secret", ["password", "ssh_key"])
def test_setting_and_removing_a_secret_at_once_is_refused(
    admin_client, vm, ssh_private_key, rsa_pem_private_key, secret
):
    url = change_url(vm)
    new_value = {"password": NEW_PASSWORD, "ssh_key": rsa_pem_private_key}[secret]
    data = form_data(admin_client, url, **{f"new_{secret}": new_value, f"remove_{secret}": True})

    response = admin_client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors[f"remove_{secret}"] == ["Either set a new value or remove it, not both."]
    reloaded = reload(vm)
    assert (reloaded.password, reloaded.ssh_key) == (PASSWORD, ssh_private_key)


def test_a_refused_form_does_not_echo_the_typed_password(admin_client, vm):
    url = change_url(vm)
    data = form_data(admin_client, url, new_password=NEW_PASSWORD, remove_password=True)

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert NEW_PASSWORD not in response.text


def test_a_form_refused_for_another_field_does_not_echo_the_typed_key(admin_client, vm, rsa_pem_private_key):
    url = change_url(vm)

    response = admin_client.post(url, form_data(admin_client, url, host="bad host", new_ssh_key=rsa_pem_private_key))

    assert response.status_code == 200
    assert "Enter a valid host name" in response.text
    key_lines = [line for line in rsa_pem_private_key.splitlines() if "-----" not in line]
    assert not [line for line in key_lines if line in response.text]


@pytest.mark.parametrize("role", [Role.NEW_USER, Role.REGULAR], ids=["new-user", "regular"])
def test_a_vm_cannot_be_given_to_an_owner_whose_role_cannot_own_vms(admin_client, vm, role):
    newcomer = UserFactory(role=role)
    url = change_url(vm)

    response = admin_client.post(url, form_data(admin_client, url, owner=newcomer.pk))

    assert response.status_code == 200
    assert "cannot own VMs" in response.text
    assert reload(vm).owner_id == vm.owner_id


@pytest.mark.parametrize(
    ("role", "is_active", "accepted"),
    [
        (Role.REGULAR, True, True),
        (Role.SIDEKICK, True, True),
        (Role.MANAGER, True, False),
        (Role.NEW_USER, True, False),
        (Role.REGULAR, False, False),
    ],
)
def test_vms_are_assigned_only_to_active_regular_or_sidekick_users(admin_client, vm, role, is_active, accepted):
    assignee = UserFactory(role=role, is_active=is_active)
    url = change_url(vm)

    response = admin_client.post(url, form_data(admin_client, url, assigned_to=assignee.pk))

    assert response.status_code == (302 if accepted else 200)
    assert (reload(vm).assigned_to_id == assignee.pk) is accepted


def test_a_vm_of_a_disabled_owner_can_still_be_edited(admin_client, vm):
    vm.owner.is_active = False
    vm.owner.save()
    url = change_url(vm)

    response = admin_client.post(url, form_data(admin_client, url, name="renamed"))

    assert response.status_code == 302
    assert reload(vm).name == "renamed"


@pytest.mark.parametrize("page", ["change", "add"])
def test_error_reports_hide_the_typed_secrets(admin_client, vm, ssh_private_key, page):
    url = change_url(vm) if page == "change" else ADD_URL
    data = form_data(admin_client, url, new_password=NEW_PASSWORD, new_ssh_key=ssh_private_key)

    request = admin_client.post(url, data).wsgi_request
    reported = SafeExceptionReporterFilter().get_post_parameters(request)

    assert reported["name"] == data["name"]
    assert NEW_PASSWORD not in reported["new_password"]
    assert "PRIVATE KEY" not in reported["new_ssh_key"]


def test_changelist_sorts_by_whether_a_password_is_set(admin_client):
    VirtualMachineFactory(name="a-without", password=None)
    VirtualMachineFactory(name="b-with", password=PASSWORD)
    VirtualMachineFactory(name="c-without", password=None)
    password_column = 1 + VirtualMachineAdmin.list_display.index("password_set")

    def names(order):
        return [vm.name for vm in admin_client.get(CHANGELIST_URL, {"o": order}).context["cl"].result_list]

    assert names(f"{password_column}")[-1] == "b-with"
    assert names(f"-{password_column}")[0] == "b-with"


def test_owner_autocomplete_finds_users_by_username(admin_client):
    UserFactory(username="grace")
    UserFactory(username="linus")
    params = {"app_label": "machines", "model_name": "virtualmachine", "field_name": "owner", "term": "gra"}

    response = admin_client.get(reverse("admin:autocomplete"), params)

    assert [result["text"] for result in response.json()["results"]] == ["grace"]


def test_editing_only_the_name_leaves_both_secrets_unchanged(admin_client, vm, ssh_private_key):
    url = change_url(vm)

    response = admin_client.post(url, form_data(admin_client, url, name="renamed"))

    assert response.status_code == 302
    reloaded = reload(vm)
    assert (reloaded.name, reloaded.password, reloaded.ssh_key) == ("renamed", PASSWORD, ssh_private_key)


def test_adding_a_vm_with_secrets_stores_them_and_shows_neither(admin_client, ssh_private_key):
    owner = UserFactory()
    data = form_data(
        admin_client,
        ADD_URL,
        name="fresh",
        host="10.0.0.5",
        username="root",
        owner=owner.pk,
        new_password=NEW_PASSWORD,
        new_ssh_key=ssh_private_key,
    )

    response = admin_client.post(ADD_URL, data, follow=True)

    assert response.status_code == 200
    created = VirtualMachine.objects.get(name="fresh")
    assert (created.owner, created.port, created.password) == (owner, 22, NEW_PASSWORD)
    assert created.ssh_key.strip() == ssh_private_key.strip()
    for fragment in [NEW_PASSWORD, *(line for line in ssh_private_key.splitlines() if line.strip())]:
        assert fragment not in response.text


def test_add_page_offers_no_remove_or_history_controls(admin_client):
    adminform = admin_client.get(ADD_URL).context["adminform"]
    form_fields = {field.field.name for fieldset in adminform for line in fieldset for field in line}

    assert {"new_password", "new_ssh_key"} <= form_fields
    assert not {"remove_password", "remove_ssh_key", "created_at"} & form_fields


def test_changelist_marks_vms_of_disabled_owners(admin_client):
    VirtualMachineFactory(name="orphan-box", owner=UserFactory(username="gone", is_active=False))

    row = row_of(admin_client.get(CHANGELIST_URL).text, "orphan-box")

    assert "gone (disabled)" in row


def test_changelist_filters_by_the_owners_role(admin_client):
    VirtualMachineFactory(name="sidekick-box", owner=UserFactory(role=Role.SIDEKICK))
    VirtualMachineFactory(name="manager-box", owner=UserFactory(role=Role.MANAGER))

    response = admin_client.get(CHANGELIST_URL, {"owner_role": Role.MANAGER})

    assert [vm.name for vm in response.context["cl"].result_list] == ["manager-box"]


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ("-1", "Ensure this value is greater than or equal to 1."),
        ("0", "Ensure this value is greater than or equal to 1."),
        ("65536", "Ensure this value is less than or equal to 65535."),
    ],
)
def test_the_admin_form_refuses_a_port_outside_1_to_65535(admin_client, vm, port, message):
    url = change_url(vm)

    response = admin_client.post(url, form_data(admin_client, url, port=port))

    assert response.status_code == 200
    assert message in response.text
    assert reload(vm).port == 22


# -- SSH host key ----------------------------------------------------------------------------------

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKzb0AVSXhXIfl3GmmhKmt6dkBkyuzsyqJeXj2HRrCzB"
HOST_KEY_FINGERPRINT = "SHA256:Mcvm54qzyvyx1vjuWMB1juMgcCC8HRw/fD4hggKvpVM"


def with_host_key(vm):
    VirtualMachine.objects.filter(pk=vm.pk).update(host_key=HOST_KEY, host_key_fingerprint=HOST_KEY_FINGERPRINT)
    return vm


def stored_host_key(vm):
    return tuple(VirtualMachine.objects.values_list("host_key", "host_key_fingerprint").get(pk=vm.pk))


def test_the_change_page_shows_the_host_key_fingerprint_read_only(admin_client, vm):
    with_host_key(vm)

    response = admin_client.get(change_url(vm))

    assert HOST_KEY_FINGERPRINT in response.text
    assert '<div class="readonly">' + HOST_KEY_FINGERPRINT in response.text
    assert not {"host_key", "host_key_fingerprint"} & set(response.context["adminform"].form.fields)


def test_a_posted_host_key_fingerprint_is_ignored(admin_client, vm):
    with_host_key(vm)
    url = change_url(vm)

    response = admin_client.post(url, form_data(admin_client, url, name="renamed", host_key_fingerprint="SHA256:x"))

    assert response.status_code == 302
    assert stored_host_key(vm) == (HOST_KEY, HOST_KEY_FINGERPRINT)


@pytest.mark.parametrize("changes", [{"host": "moved.lab.example"}, {"port": "2222"}], ids=["host", "port"])
def test_changing_the_host_or_port_in_the_admin_forgets_the_host_key(admin_client, vm, changes):
    with_host_key(vm)
    url = change_url(vm)

    response = admin_client.post(url, form_data(admin_client, url, **changes))

    assert response.status_code == 302
    assert stored_host_key(vm) == ("", "")
    event = AuditEvent.objects.get(action=Action.VM_UPDATE)
    assert event.details == {"fields": list(changes), "via": "admin", "host_key_cleared": True}


def test_changing_the_name_in_the_admin_keeps_the_host_key(admin_client, vm):
    with_host_key(vm)
    url = change_url(vm)

    admin_client.post(url, form_data(admin_client, url, name="renamed"))

    assert stored_host_key(vm) == (HOST_KEY, HOST_KEY_FINGERPRINT)
    assert AuditEvent.objects.get(action=Action.VM_UPDATE).details == {"fields": ["name"], "via": "admin"}


def reset_action(admin_client, *vms):
    data = {"action": "reset_host_keys", "_selected_action": [vm.pk for vm in vms]}
    return admin_client.post(CHANGELIST_URL, data, follow=True)


def test_the_reset_host_key_action_forgets_the_keys_and_records_each(admin_client, admin):
    first = with_host_key(VirtualMachineFactory(name="first", shared=True))
    second = with_host_key(VirtualMachineFactory(name="second", owner=admin))
    untouched = with_host_key(VirtualMachineFactory(name="untouched", shared=True))

    response = reset_action(admin_client, first, second)

    assert "Host key reset, to be confirmed on the next connection: first, second." in response.text
    assert stored_host_key(first) == stored_host_key(second) == ("", "")
    assert stored_host_key(untouched) == (HOST_KEY, HOST_KEY_FINGERPRINT)
    events = AuditEvent.objects.filter(action=Action.VM_HOST_KEY_RESET)
    assert sorted(events.values_list("target_id", flat=True)) == sorted([str(first.pk), str(second.pk)])
    assert {event.actor for event in events} == {admin}
    assert {event.details["fingerprint"] for event in events} == {HOST_KEY_FINGERPRINT}


def test_the_reset_action_says_which_vms_had_no_key(admin_client):
    vm = VirtualMachineFactory(shared=True)

    response = reset_action(admin_client, vm)

    assert "1 of the selected VMs had no stored host key." in response.text
    assert not AuditEvent.objects.filter(action=Action.VM_HOST_KEY_RESET).exists()


def test_the_reset_action_also_resets_private_vms_of_other_users(admin_client, vm):
    # In the Django admin, admins see every VM to clean up (PRODUCT.md §3), not only the ones they may edit.
    with_host_key(vm)

    response = reset_action(admin_client, vm)

    assert f"Host key reset, to be confirmed on the next connection: {vm.name}." in response.text
    assert stored_host_key(vm) == ("", "")
    assert AuditEvent.objects.get(action=Action.VM_HOST_KEY_RESET).details == {
        "fingerprint": HOST_KEY_FINGERPRINT,
        "via": "admin",
    }
