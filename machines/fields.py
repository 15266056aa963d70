"""EncryptedTextField: a text column that only ever holds Fernet tokens (see vmlab.crypto)."""

from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models
from django.db.models.signals import pre_save

from vmlab import crypto


class EncryptedTextField(models.TextField):
    """Plaintext in Python, a Fernet token in the database, in dumps and in every query parameter.

    An empty value is stored as NULL so that `isnull`, the only lookup allowed, tells whether a
    secret is set. Ciphertext is not comparable, so every other lookup raises.
    """

    description = "Text encrypted at rest with FIELD_ENCRYPTION_KEYS"
    ALLOWED_LOOKUPS = frozenset({"isnull"})

    def __init__(self, *args, **kwargs):
        for option in ("primary_key", "unique", "db_index"):
            if kwargs.get(option):
                raise ImproperlyConfigured(f"EncryptedTextField cannot be used with {option}=True.")
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

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

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return None
        return crypto.encrypt(value)

    def from_db_value(self, value, expression, connection):
        return None if value is None else crypto.decrypt(value)

    def value_to_string(self, obj):
        """Serializers (dumpdata) write the token, never the plaintext."""
        return self.get_prep_value(self.value_from_object(obj))

    def _decrypt_loaded_fixture(self, sender, instance, raw, **kwargs):
        # loaddata saves with raw=True and hands us the token that value_to_string wrote; turn it
        # back into plaintext so that it is encrypted once, not twice. Only fixtures take this path:
        # a token typed into a form is kept as the literal text the user typed.
        token = getattr(instance, self.attname)
        if raw and token:
            setattr(instance, self.attname, crypto.decrypt(token))
