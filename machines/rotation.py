"""Re-encrypting every stored secret with the first FIELD_ENCRYPTION_KEYS key, and counting what each key reads."""

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _

from audit.models import Action
from audit.services import audit_record, command_operator
from vmlab.core import crypto
from vmlab.core.fields import EncryptedTextField


@dataclass
class RotationReport:
    model: str
    rows_seen: int = 0
    rows_rewritten: int = 0
    batches: int = 0
    undecryptable: list = field(default_factory=list)


@dataclass
class KeyCensus:
    """What a dry run finds: per key position, the rows and secrets it decrypts. A row whose secrets
    are under different keys counts once under each of them."""

    model: str
    key_count: int
    rows_seen: int = 0
    batches: int = 0
    rows_without_secrets: int = 0
    rows_to_rewrite: int = 0
    undecryptable_secrets: int = 0
    undecryptable: list = field(default_factory=list)
    rows_by_key: list = field(init=False)
    secrets_by_key: list = field(init=False)

    def __post_init__(self):
        self.rows_by_key = [0] * self.key_count
        self.secrets_by_key = [0] * self.key_count


def encrypted_fields_by_model():
    """{model: [field names]} for every installed model with an EncryptedTextField."""
    found = {}
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found[model] = names
    return found


def key_fingerprint(key: str) -> str:
    """The first 8 hex digits of the key's SHA-256: enough to tell keys apart, nothing to recover one from."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def key_labels():
    """'key #1 (current, sha256 1a2b3c4d)', 'key #2 (sha256 …)', …: a position and a fingerprint, never the key."""
    return [
        (
            _("key #%(position)s (current, sha256 %(fingerprint)s)")
            if position == 1
            else _("key #%(position)s (sha256 %(fingerprint)s)")
        )
        % {"position": position, "fingerprint": key_fingerprint(key)}
        for position, key in enumerate(settings.FIELD_ENCRYPTION_KEYS, start=1)
    ]


def _batch_query(model, field_names, after_pk, batch_size, lock):
    # values_list wraps each token in a Ciphertext without decrypting it.
    rows = model._base_manager.order_by("pk").values_list("pk", *field_names)
    if lock:
        rows = rows.select_for_update()
    if after_pk is not None:
        rows = rows.filter(pk__gt=after_pk)
    return rows[:batch_size]


def count_by_key(model, field_names, batch_size=500):
    """Dry run of rotate_model: read the table in the same batches, without locks, and write nothing."""
    census = KeyCensus(model=model._meta.label, key_count=len(settings.FIELD_ENCRYPTION_KEYS))
    last_pk = None
    while batch := list(_batch_query(model, field_names, last_pk, batch_size, lock=False)):
        for pk, *secrets in batch:
            positions = [crypto.key_position(secret.token) for secret in secrets if secret]
            _count_row(census, pk, positions)
        last_pk = batch[-1][0]
        census.batches += 1
        census.rows_seen += len(batch)
    return census


def dry_pass(batch_size=500):
    """count_by_key over every model with encrypted fields: what rotate_encryption_keys --dry-run, check_secrets
    and a restore's verification report."""
    return [count_by_key(model, names, batch_size=batch_size) for model, names in encrypted_fields_by_model().items()]


def census_lines(census, labels):
    """The lines that describe one model's census: rows read, then rows and secrets per key and for no key."""
    read = _(
        "%(model)s: %(seen)s rows read in %(batches)s batch(es), %(without)s without secrets, %(rewrite)s to rewrite."
    )
    lines = [
        read
        % {
            "model": census.model,
            "seen": census.rows_seen,
            "batches": census.batches,
            "without": census.rows_without_secrets,
            "rewrite": census.rows_to_rewrite,
        }
    ]
    per_key = _("  %(key)s: %(rows)s rows, %(secrets)s secrets")
    for label, rows, secrets in zip(labels, census.rows_by_key, census.secrets_by_key, strict=True):
        lines.append(per_key % {"key": label, "rows": rows, "secrets": secrets})
    no_key = _("  no key: %(rows)s rows, %(secrets)s secrets")
    lines.append(no_key % {"rows": len(census.undecryptable), "secrets": census.undecryptable_secrets})
    return lines


def secret_totals(censuses):
    """(secrets read, secrets that no configured key decrypts) over every census."""
    unreadable = sum(census.undecryptable_secrets for census in censuses)
    return sum(sum(census.secrets_by_key) for census in censuses) + unreadable, unreadable


def undecryptable_rows(censuses):
    """'machines.VirtualMachine #12', … for every row with a secret that no configured key decrypts."""
    return [f"{census.model} #{pk}" for census in censuses for pk in census.undecryptable]


def _count_row(census, pk, positions):
    if not positions:
        census.rows_without_secrets += 1
        return
    for position in positions:
        if position is None:
            census.undecryptable_secrets += 1
        else:
            census.secrets_by_key[position] += 1
    for position in set(positions) - {None}:
        census.rows_by_key[position] += 1
    if None in positions:
        census.undecryptable.append(pk)
    elif any(position > 0 for position in positions):
        census.rows_to_rewrite += 1


def rotate_model(model, field_names, batch_size=500, report=None):
    """Walk the table in primary-key order, one batch per transaction, so memory stays flat and a
    crash loses nothing: rows already rewritten are readable by the new key, the rest by the old.

    Each batch is read FOR UPDATE inside its transaction, so a secret saved while the command runs
    is never overwritten with the re-encrypted old value. `report` is filled in batch by batch, so a
    caller that passes its own still knows how far a run got when it raises.
    """
    if report is None:
        report = RotationReport(model=model._meta.label)
    last_pk = None
    while True:
        with transaction.atomic():
            batch = list(_batch_query(model, field_names, last_pk, batch_size, lock=True))
            if not batch:
                return report
            stale, undecryptable = _reencrypt_batch(batch)
            _write_tokens(model, field_names, stale)
        # Counted only once the batch is committed.
        last_pk = batch[-1][0]
        report.batches += 1
        report.rows_seen += len(batch)
        report.rows_rewritten += len(stale)
        report.undecryptable += undecryptable


def _reencrypt_batch(batch):
    """([(*new tokens, pk)] for rows with a secret under an older key, [pks no key decrypts])."""
    stale, undecryptable = [], []
    for pk, *secrets in batch:
        try:
            fresh = [secret and crypto.reencrypt_if_stale(secret.token) for secret in secrets]
        except crypto.DecryptionError:
            undecryptable.append(pk)
            continue
        if any(fresh):
            tokens = [new or (old.token if old else None) for new, old in zip(fresh, secrets, strict=True)]
            stale.append((*tokens, pk))
    return stale, undecryptable


@dataclass
class RotationRun:
    reports: list = field(default_factory=list)

    def start(self, model):
        report = RotationReport(model=model._meta.label)
        self.reports.append(report)
        return report

    def totals(self):
        return {
            "rows_seen": sum(r.rows_seen for r in self.reports),
            "rows_rewritten": sum(r.rows_rewritten for r in self.reports),
            "undecryptable": sum(len(r.undecryptable) for r in self.reports),
            "batches": sum(r.batches for r in self.reports),
        }


@contextmanager
def audited_rotation():
    """Record one KEYS_ROTATE event for the run, counts only, whether it finishes or stops on an error."""
    run = RotationRun()
    try:
        yield run
    except BaseException as error:  # an interrupted run (Ctrl-C included) is recorded too
        try:
            _record(run, completed=False, error=type(error).__name__)
        except Exception as audit_error:  # the database may be what failed: keep the original error first
            error.add_note(f"The audit event for this run could not be written: {type(audit_error).__name__}.")
        raise
    _record(run, completed=True)


def _record(run, **outcome):
    audit_record(action=Action.KEYS_ROTATE, operator=command_operator(), details={**run.totals(), **outcome})


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
