"""Re-encrypting every stored secret with the first FIELD_ENCRYPTION_KEYS key."""

from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction
from django.db.models import F, TextField, Value
from django.db.models.expressions import ExpressionWrapper

from machines.fields import EncryptedTextField
from vmlab import crypto


@dataclass
class RotationReport:
    model: str
    rows_seen: int = 0
    rows_rewritten: int = 0
    batches: int = 0
    undecryptable: list = field(default_factory=list)


def encrypted_fields_by_model():
    """{model: [field names]} for every installed model with an EncryptedTextField."""
    found = {}
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found[model] = names
    return found


def rotate_model(model, field_names, batch_size=500):
    """Walk the table in primary-key order, one batch per transaction, so memory stays flat and a
    crash loses nothing: rows already rewritten are readable by the new key, the rest by the old."""
    report = RotationReport(model=model._meta.label)
    # Read the tokens as plain text: decrypting here would be wasted work.
    raw = {f"raw_{name}": ExpressionWrapper(F(name), output_field=TextField()) for name in field_names}
    last_pk = None
    while True:
        rows = model._base_manager.order_by("pk").annotate(**raw).values_list("pk", *raw)
        if last_pk is not None:
            rows = rows.filter(pk__gt=last_pk)
        batch = list(rows[:batch_size])
        if not batch:
            return report
        report.batches += 1
        report.rows_seen += len(batch)
        last_pk = batch[-1][0]
        stale = []
        for pk, *tokens in batch:
            try:
                fresh = [token and crypto.reencrypt_if_stale(token) for token in tokens]
            except crypto.DecryptionError:
                report.undecryptable.append(pk)
                continue
            if any(fresh):
                stale.append(_row_update(model, pk, field_names, fresh))
        if stale:
            with transaction.atomic():
                model._base_manager.bulk_update(stale, field_names)
        report.rows_rewritten += len(stale)


def _row_update(model, pk, field_names, fresh_tokens):
    """An unsaved instance for bulk_update: new tokens as plain-text values, the rest left as stored."""
    row = model(pk=pk)
    for name, token in zip(field_names, fresh_tokens, strict=True):
        setattr(row, name, Value(token, output_field=TextField()) if token else F(name))
    return row
