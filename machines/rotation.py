"""Re-encrypting every stored secret with the first FIELD_ENCRYPTION_KEYS key."""

from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection, transaction

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
    crash loses nothing: rows already rewritten are readable by the new key, the rest by the old.

    Each batch is read FOR UPDATE inside its transaction, so a secret saved while the command runs
    is never overwritten with the re-encrypted old value.
    """
    report = RotationReport(model=model._meta.label)
    last_pk = None
    while True:
        with transaction.atomic():
            # Loading wraps each token in a Ciphertext without decrypting it; only stale ones are.
            rows = model._base_manager.select_for_update().order_by("pk").values_list("pk", *field_names)
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(rows[:batch_size])
            if not batch:
                return report
            stale = []
            for pk, *secrets in batch:
                try:
                    fresh = [secret and crypto.reencrypt_if_stale(secret.token) for secret in secrets]
                except crypto.DecryptionError:
                    report.undecryptable.append(pk)
                    continue
                if any(fresh):
                    tokens = [new or (old.token if old else None) for new, old in zip(fresh, secrets, strict=True)]
                    stale.append((*tokens, pk))
            _write_tokens(model, field_names, stale)
        last_pk = batch[-1][0]
        report.batches += 1
        report.rows_seen += len(batch)
        report.rows_rewritten += len(stale)


def _write_tokens(model, field_names, rows):
    """Store finished tokens as they are, with one statement per batch.

    Raw SQL on purpose: the values are tokens this module just made, and Django's bulk_update
    (a CASE per column) costs milliseconds per row.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    columns = [quote(model._meta.get_field(name).column) for name in field_names]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            assignments = ", ".join(f"{column} = %s" for column in columns)
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", rows)  # noqa: S608 (quoted names)
            return
        # One round trip for the whole batch instead of one per row.
        aliases = [f"token_{position}" for position in range(len(columns))]
        assignments = ", ".join(f"{column} = fresh.{alias}" for column, alias in zip(columns, aliases, strict=True))
        row_sql = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row_sql] * len(rows))}) "  # noqa: S608
            f"AS fresh({', '.join(aliases)}, row_pk) WHERE {table}.{pk} = fresh.row_pk",
            [value for row in rows for value in row],
        )
