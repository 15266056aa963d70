import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Upper

from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory
from vmlab.core import crypto
from vmlab.core.crypto import DecryptionError
from vmlab.core.fields import Ciphertext, EncryptedTextField

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Tr0ub4dor&3-plain"


def raw_row(vm):
    with connection.cursor() as cursor:
        cursor.execute("SELECT password, ssh_key FROM machines_virtualmachine WHERE id = %s", [vm.pk])
        return cursor.fetchone()


def test_database_row_holds_a_token_not_the_plaintext(ssh_private_key):
    vm = VirtualMachineFactory(password=PASSWORD, ssh_key=ssh_private_key)

    stored_password, stored_key = raw_row(vm)

    assert PASSWORD not in stored_password
    assert "PRIVATE KEY" not in stored_key
    assert stored_password.startswith("gAAAAA")
    reloaded = VirtualMachine.objects.get(pk=vm.pk)
    assert reloaded.password == PASSWORD
    assert reloaded.ssh_key == ssh_private_key


def test_empty_secret_is_stored_as_null():
    vm = VirtualMachineFactory(password="")

    assert raw_row(vm) == (None, None)
    assert VirtualMachine.objects.get(pk=vm.pk).password is None


def test_same_plaintext_gives_different_tokens():
    first, second = VirtualMachineFactory(password=PASSWORD), VirtualMachineFactory(password=PASSWORD)

    assert raw_row(first)[0] != raw_row(second)[0]


def test_reading_a_secret_with_a_wrong_key_raises_a_clear_error(settings):
    vm = VirtualMachineFactory(password=PASSWORD)
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)
    loaded = VirtualMachine.objects.get(pk=vm.pk)

    with pytest.raises(DecryptionError, match="check FIELD_ENCRYPTION_KEYS"):
        loaded.password  # noqa: B018


def test_loading_a_vm_decrypts_nothing_until_a_secret_is_read(monkeypatch, ssh_private_key):
    vm = VirtualMachineFactory(password=PASSWORD, ssh_key=ssh_private_key)
    calls = []
    monkeypatch.setattr(crypto, "decrypt", lambda token: calls.append(token) or "plain")

    loaded = VirtualMachine.objects.get(pk=vm.pk)
    loaded.name = "renamed"
    loaded.save()
    assert calls == []

    assert loaded.password == "plain"
    assert len(calls) == 1


def test_saving_a_vm_whose_secrets_were_not_read_keeps_the_same_tokens():
    vm = VirtualMachineFactory(password=PASSWORD)
    token_before = raw_row(vm)[0]

    loaded = VirtualMachine.objects.get(pk=vm.pk)
    loaded.name = "renamed"
    loaded.save()

    assert raw_row(vm)[0] == token_before


def test_values_list_gives_masked_ciphertext_never_the_token_or_the_plaintext():
    vm = VirtualMachineFactory(password=PASSWORD)

    (secret,) = VirtualMachine.objects.values_list("password", flat=True)

    assert str(secret) == repr(secret) == "<encrypted>"
    assert secret.token == raw_row(vm)[0]
    assert secret.reveal() == PASSWORD


def test_wrong_key_does_not_break_lists_that_leave_secrets_out(settings):
    vm = VirtualMachineFactory(password=PASSWORD)
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)

    listed = VirtualMachine.objects.without_secrets().get(pk=vm.pk)

    assert listed.name == vm.name
    assert listed.has_password is True


def test_row_written_with_old_key_is_read_after_a_new_first_key_is_added(settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    vm = VirtualMachineFactory(password=PASSWORD)
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(), old_key)

    assert VirtualMachine.objects.get(pk=vm.pk).password == PASSWORD


@pytest.mark.parametrize("lookup", ["", "__exact", "__iexact", "__contains", "__icontains", "__startswith", "__in"])
def test_lookups_other_than_isnull_raise(lookup):
    value = [PASSWORD] if lookup == "__in" else PASSWORD

    with pytest.raises(FieldError, match="encrypted: it can only be filtered with 'isnull'"):
        VirtualMachine.objects.filter(**{f"password{lookup}": value}).count()


def test_isnull_tells_which_rows_have_a_secret():
    with_password = VirtualMachineFactory(password=PASSWORD)
    VirtualMachineFactory(password=None)

    assert list(VirtualMachine.objects.filter(password__isnull=False)) == [with_password]


@pytest.mark.parametrize("option", ["unique", "db_index", "primary_key"])
def test_field_refuses_options_that_would_need_comparable_values(option):
    with pytest.raises(ImproperlyConfigured, match=option):
        EncryptedTextField(**{option: True})


def test_a_required_field_stays_required_through_its_migration():
    _name, _path, args, kwargs = EncryptedTextField(null=False, blank=False).deconstruct()

    rebuilt = EncryptedTextField(*args, **kwargs)

    assert (rebuilt.null, rebuilt.blank) == (False, False)
    assert (EncryptedTextField().null, EncryptedTextField().blank) == (True, True)


def test_field_is_a_text_column():
    assert VirtualMachine._meta.get_field("password").db_type(connection) == connection.data_types["TextField"]


def test_dumpdata_writes_no_plaintext_and_loaddata_restores_the_secret(tmp_path, ssh_private_key):
    vm = VirtualMachineFactory(password=PASSWORD, ssh_key=ssh_private_key)
    dump = tmp_path / "dump.json"

    call_command("dumpdata", "accounts", "machines", output=str(dump))
    text = dump.read_text()
    VirtualMachine.objects.all().delete()
    call_command("loaddata", str(dump), verbosity=0)

    assert PASSWORD not in text
    assert "PRIVATE KEY" not in text
    restored = VirtualMachine.objects.get(pk=vm.pk)
    assert restored.password == PASSWORD
    assert restored.ssh_key == ssh_private_key


def test_a_token_typed_as_a_password_is_kept_literally():
    token_of_another_secret = raw_row(VirtualMachineFactory(password=PASSWORD))[0]

    vm = VirtualMachineFactory(password=token_of_another_secret)

    assert VirtualMachine.objects.get(pk=vm.pk).password == token_of_another_secret


@pytest.mark.parametrize(
    "expression",
    [Value("plain"), Concat(Value("plain"), Value("text")), F("name"), Upper(Value("plain"))],
    ids=["value", "concat", "copy-of-a-plain-column", "function"],
)
def test_queryset_update_with_an_expression_that_would_store_plaintext_is_refused(expression):
    vm = VirtualMachineFactory(password=PASSWORD)
    token_before = raw_row(vm)[0]

    with pytest.raises(ValueError, match="is encrypted: assign plain text"):
        VirtualMachine.objects.filter(pk=vm.pk).update(password=expression)

    assert raw_row(vm)[0] == token_before


def test_saving_an_expression_into_a_secret_is_refused():
    vm = VirtualMachineFactory(password=PASSWORD)
    vm.password = Value("plain")

    with pytest.raises(ValueError, match="is encrypted: assign plain text"), transaction.atomic():
        vm.save()

    assert VirtualMachine.objects.get(pk=vm.pk).password == PASSWORD


def test_plain_values_in_update_bulk_update_and_bulk_create_are_encrypted():
    updated, bulk_updated = VirtualMachineFactory(), VirtualMachineFactory()
    VirtualMachine.objects.filter(pk=updated.pk).update(password="via-update")
    bulk_updated.password = "via-bulk-update"
    VirtualMachine.objects.bulk_update([bulk_updated], ["password"])
    (created,) = VirtualMachine.objects.bulk_create(
        [VirtualMachineFactory.build(owner=updated.owner, password="via-bulk-create")]
    )

    for vm, plaintext in [(updated, "via-update"), (bulk_updated, "via-bulk-update"), (created, "via-bulk-create")]:
        assert raw_row(vm)[0].startswith("gAAAAA")
        assert VirtualMachine.objects.get(pk=vm.pk).password == plaintext


def test_copying_one_secret_column_into_another_keeps_tokens(ssh_private_key):
    vm = VirtualMachineFactory(password=None, ssh_key=ssh_private_key)

    VirtualMachine.objects.filter(pk=vm.pk).update(password=F("ssh_key"))

    assert VirtualMachine.objects.get(pk=vm.pk).password == ssh_private_key


def test_saving_a_vm_loaded_before_a_rotation_keeps_the_rotated_secret(settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    vm = VirtualMachineFactory(password=PASSWORD)
    loaded_before = VirtualMachine.objects.get(pk=vm.pk)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = (new_key, old_key)
    call_command("rotate_encryption_keys", stdout=io.StringIO())

    loaded_before.name = "renamed"
    loaded_before.save()

    settings.FIELD_ENCRYPTION_KEYS = (new_key,)
    assert VirtualMachine.objects.get(pk=vm.pk).password == PASSWORD


def test_a_ciphertext_holding_plaintext_is_refused_rather_than_stored():
    vm = VirtualMachineFactory(password=PASSWORD)

    with pytest.raises(ValueError, match="must hold a Fernet token"), transaction.atomic():
        VirtualMachine.objects.filter(pk=vm.pk).update(password=Ciphertext("plain"))

    assert VirtualMachine.objects.get(pk=vm.pk).password == PASSWORD
