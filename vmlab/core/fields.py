"""EncryptedTextField: a text column that only ever holds Fernet tokens (see vmlab.core.crypto).

Shared by every app that keeps a secret (VM passwords and SSH keys, authenticator-app seeds), so that
rotate_encryption_keys finds them all by this class and every one follows the same rules.
"""

from django.core.exceptions import FieldDoesNotExist, FieldError, ImproperlyConfigured
from django.db import models
from django.db.models import Case, F, Value
from django.db.models.functions import Cast
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import pre_save

from vmlab.core import crypto


class Ciphertext:
    """A token read from the database and not decrypted yet.

    Loading a row only wraps its tokens; nothing is decrypted until the attribute is read, so lists,
    delete confirmations and saves that leave a secret alone neither pay for decryption nor fail
    when a key is missing. Its text form is a mask, never the token or the plaintext.

    Django's refresh_from_db() and model_to_dict() read every field and so decrypt; and once read,
    the plaintext stays on the instance: never cache or pickle an instance whose secret was read.
    """

    __slots__ = ("token",)

    def __init__(self, token: str):
        self.token = token

    def reveal(self) -> str:
        return crypto.decrypt(self.token)

    def __str__(self):
        return "<encrypted>"

    __repr__ = __str__

    def __eq__(self, other):
        return isinstance(other, Ciphertext) and other.token == self.token

    def __hash__(self):
        return hash(self.token)


class DecryptOnAccess(DeferredAttribute):
    """Reading the attribute (`vm.password`) decrypts the stored token once and keeps the plaintext on the instance."""

    def __get__(self, instance, cls=None):
        value = super().__get__(instance, cls)
        if isinstance(value, Ciphertext):
            value = instance.__dict__[self.field.attname] = value.reveal()
        return value

    def __set__(self, instance, value):
        # Defining __set__ makes this a data descriptor, consulted even when the value is loaded.
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """Plaintext in Python, a Fernet token in the database, in dumps and in every query parameter.

    An empty value is stored as NULL so that `isnull`, the only lookup allowed, tells whether a
    secret is set. Ciphertext is not comparable, so every other lookup raises.
    """

    description = "Text encrypted at rest with FIELD_ENCRYPTION_KEYS"
    descriptor_class = DecryptOnAccess
    ALLOWED_LOOKUPS = frozenset({"isnull"})

    def __init__(self, *args, **kwargs):
        for option in ("primary_key", "unique", "db_index"):
            if kwargs.get(option):
                raise ImproperlyConfigured(f"EncryptedTextField cannot be used with {option}=True.")
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        # Field leaves out null=False and blank=False as its defaults; here they are not, so migrations must say so.
        for option in ("null", "blank"):
            if not getattr(self, option):
                kwargs[option] = False
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, **kwargs):
        super().contribute_to_class(cls, name, **kwargs)
        if not cls._meta.abstract:
            pre_save.connect(self._decrypt_loaded_fixture, sender=cls)

    def get_lookup(self, lookup_name):
        if lookup_name not in self.ALLOWED_LOOKUPS:
            raise FieldError(
                f"{self.model.__name__}.{self.name} is encrypted: it can only be filtered with "
                f"'isnull', not '{lookup_name}'."
            )
        return super().get_lookup(lookup_name)

    def from_db_value(self, value, expression, connection):
        return None if value is None else Ciphertext(value)

    def stored_value(self, instance):
        """The attribute as the instance holds it: plaintext, None, or a Ciphertext not decrypted."""
        if self.attname not in instance.__dict__:
            manager = type(instance)._base_manager
            instance.__dict__[self.attname] = manager.values_list(self.attname, flat=True).get(pk=instance.pk)
        return instance.__dict__[self.attname]

    def pre_save(self, model_instance, add):
        value = self.stored_value(model_instance)
        if isinstance(value, Ciphertext) and not add:
            # Loaded but never read: leave the column as it is now, which may be newer than what
            # this instance loaded (rotate_encryption_keys may have re-encrypted it meanwhile).
            return F(self.attname)
        self.check_assignment(value)
        return value

    def check_assignment(self, value):
        """Refuse SQL expressions that would write anything but a token into this column.

        Plain values always pass through get_prep_value and are encrypted; expressions are compiled
        straight into SQL, so only those known to produce tokens are allowed: None, a value typed
        as this field (what bulk_update builds), a copy of an encrypted column, and CASEs and casts
        of those.
        """
        if hasattr(value, "resolve_expression") and not self._writes_tokens_only(value):
            raise ValueError(
                f"{self.model.__name__}.{self.name} is encrypted: assign plain text, not the SQL expression {value!r}."
            )

    def _writes_tokens_only(self, expression):
        if isinstance(expression, F):
            try:
                return isinstance(self.model._meta.get_field(expression.name), EncryptedTextField)
            except FieldDoesNotExist:
                return False
        if isinstance(expression, Value):
            return expression.value is None or isinstance(expression._output_field_or_none, EncryptedTextField)
        if isinstance(expression, Cast):  # bulk_update wraps its CASE in one on PostgreSQL
            return self._writes_tokens_only(expression.get_source_expressions()[0])
        if isinstance(expression, Case):
            return all(self._writes_tokens_only(when.result) for when in expression.cases) and (
                self._writes_tokens_only(expression.default)
            )
        return False

    def get_prep_value(self, value):
        if isinstance(value, Ciphertext):
            if not crypto.looks_like_token(value.token):
                raise ValueError(f"{self.model.__name__}.{self.name}: a Ciphertext must hold a Fernet token.")
            return value.token
        value = super().get_prep_value(value)
        if value in (None, ""):
            return None
        return crypto.encrypt(value)

    def value_to_string(self, obj):
        """Serializers (dumpdata) write the token, never the plaintext."""
        return self.get_prep_value(self.stored_value(obj))

    def _decrypt_loaded_fixture(self, sender, instance, raw, **kwargs):
        # loaddata saves with raw=True and hands us the token that value_to_string wrote; turn it
        # back into plaintext so that it is encrypted once, not twice. Only fixtures take this path:
        # a token typed into a form is kept as the literal text the user typed.
        token = instance.__dict__.get(self.attname)
        if raw and token:
            instance.__dict__[self.attname] = crypto.decrypt(token)


class EncryptedFieldsQuerySet(models.QuerySet):
    """QuerySet.update() compiles expressions straight into SQL: check them like pre_save does."""

    def update(self, **kwargs):
        for name, value in kwargs.items():
            field = self.model._meta.get_field(name)
            if isinstance(field, EncryptedTextField):
                field.check_assignment(value)
        return super().update(**kwargs)

    update.alters_data = True
