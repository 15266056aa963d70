"""Importing VMs from a file (CSV, JSON, YAML, OpenSSH client config): a preview of what each row would do, then,
once confirmed, all of it in one transaction through machines.services, or nothing.

- **Matching.** A row is the VM of its owner (its `owner` column, else the import's owner) with the same host, port
  and username (`match="address"`, hosts compared without case), or the same name (`match="name"`). A row without an
  `owner` that matches none of the import owner's VMs may match another VM the actor sees (a manager's export holds
  the shared VMs of others): re-importing an export changes nothing. Two rows of one file with the same key are both
  errors, and so is a row that matches several VMs.
- **Validation** is the New VM form's (machines.forms.VirtualMachineRowForm), row by row.
- **Rights** are the pages': OWN_VMS to import, ASSIGN_VMS to assign, ADMINISTER to import for another owner (the
  import's, or a row's); a VM changes only if it is `editable_by` the actor (`assignable_by` to change its assignee).
- **Secrets** in a row are set (encrypted) on create or update. Stored ones are never decrypted to be compared, so a
  row that carries a password or key always updates its VM; one without leaves the VM's secrets as they are.
- **No query per row** in the preview: the users the file names and the VMs it may match are loaded once.
- **The version check.** The preview ends with a fingerprint of every row (action, matched VM and its version,
  values); `vms_import_apply` plans the same file again in its transaction and writes only if the fingerprint is the
  same, each update at the version it was previewed at: otherwise ImportChanged, and nothing is written.
"""

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, replace

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from access import rights
from access.checks import require_right
from accounts.models import User
from audit.context import AuditContext
from audit.models import Action
from audit.services import audit_record
from machines import services
from machines.forms import VirtualMachineRowForm
from machines.models import VirtualMachine
from machines.versioning import StaleVersion
from machines.vm_files.columns import FORMATS, SECRET_COLUMNS, FileRefused, ParsedFile, RawRow
from machines.vm_files.reading import read_file
from machines.vm_files.sshconfig import host_alias

MATCH_ADDRESS, MATCH_NAME = "address", "name"
MATCHES = {MATCH_ADDRESS: gettext_lazy("host, port and username"), MATCH_NAME: gettext_lazy("name")}
CREATE, UPDATE, UNCHANGED, SKIP, ERROR = "create", "update", "unchanged", "skip", "error"
ACTIONS = (CREATE, UPDATE, UNCHANGED, SKIP, ERROR)
FORM_FIELDS = ("name", "host", "port", "username", "shared", "password", "ssh_key")
TRUE_WORDS, FALSE_WORDS = {"true", "yes", "y", "1", "on"}, {"false", "no", "n", "0", "off"}
DEFAULT_PORT = 22

IMPORT_CHANGED = gettext_lazy(
    "The VMs changed after this preview was made, so nothing was written. Here is the preview again with the VMs as "
    "they are now: check it and apply again."
)
NO_ASSIGNEE = gettext_lazy("assigned_to: there is no active regular or sidekick user named “%(name)s”.")
MISSING_COLUMNS = gettext_lazy("The file has no %(columns)s column: matching by %(match)s needs it.")
WHERE = {
    "row": gettext_lazy("row %(number)s"),
    "item": gettext_lazy("item %(number)s"),
    "line": gettext_lazy("line %(number)s"),
}


@dataclass(frozen=True)
class ImportRow:
    """What one row of the file does, as the preview shows it: never a secret's value, only whether one is set."""

    number: int  # where the row is in the file: ImportReport.numbering says what it counts
    action: str  # one of ACTIONS
    name: str = ""
    host: str = ""
    port: int | str | None = None
    username: str = ""
    shared: bool | None = None
    assigned_to: str = ""  # a username; "" for nobody
    owner: str = ""
    sets_password: bool = False
    sets_ssh_key: bool = False
    vm_id: int | None = None  # the VM the row matches
    vm_version: int | None = None  # its version when the preview was made
    changes: tuple[str, ...] = ()  # what an update changes (a secret given is always set: never compared)
    reasons: tuple[str, ...] = ()  # why the row is an error, or skipped
    notes: tuple[str, ...] = ()  # worth knowing: an IdentityFile not read, settings VM Lab does not use


@dataclass(frozen=True)
class ImportReport:
    """The preview of an import, or what an applied one did: plain data (`as_dict()` for JSON)."""

    file_format: str
    match: str
    owner: str
    numbering: str  # what ImportRow.number counts: "row" (CSV, its header is row 1), "item" or "line"
    rows: tuple[ImportRow, ...]
    notes: tuple[str, ...]  # about the whole file
    preview: str  # fingerprint of this preview: vms_import_apply(preview=...) writes only what it shows
    applied: bool = False

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(row.action for row in self.rows)
        return {action: counted[action] for action in ACTIONS}

    @property
    def has_errors(self) -> bool:
        return any(row.action == ERROR for row in self.rows)

    @property
    def has_changes(self) -> bool:
        return any(row.action in (CREATE, UPDATE) for row in self.rows)

    def where(self, number: int) -> str:
        return WHERE[self.numbering] % {"number": number}

    def as_dict(self) -> dict:
        return {**asdict(self), "counts": self.counts}


class ImportChanged(ValidationError):
    """The VMs changed since the preview (or during the apply): nothing was written. `report` is the new preview."""

    def __init__(self, report: ImportReport):
        super().__init__(IMPORT_CHANGED, code="import_changed")
        self.report = report


@sensitive_variables("data")
def vms_import(
    *,
    actor: User,
    data: bytes,
    file_format: str,
    dry_run: bool,
    owner: User | None = None,
    match: str = MATCH_ADDRESS,
    preview: str | None = None,
    context: AuditContext | None = None,
) -> ImportReport:
    """The preview (`dry_run`) or the import of `data`, a file in `file_format` (machines.vm_files.columns.FORMATS),
    into the VMs of `owner` (by default the actor; admins may name another).

    A whole file that cannot be read raises FileRefused (a ValidationError), an owner the actor may not import for
    PermissionDenied or ValidationError. Rows with errors are in the report: an import with any writes nothing and
    returns with `applied` False. With `preview`, a fingerprint from an earlier preview, the import writes only if
    the rows still do what that preview showed, else raises ImportChanged.
    """
    if dry_run:
        return vms_import_preview(actor=actor, data=data, file_format=file_format, owner=owner, match=match)
    return vms_import_apply(
        actor=actor, data=data, file_format=file_format, owner=owner, match=match, preview=preview, context=context
    )


@sensitive_variables("data")
def vms_import_preview(
    *, actor: User, data: bytes, file_format: str, owner: User | None = None, match: str = MATCH_ADDRESS
) -> ImportReport:
    """What importing `data` would do, row by row; nothing is written."""
    report, _planned = _Planner(actor=actor, owner=owner, match=match).plan(data, file_format)
    return report


@sensitive_variables("data")
def vms_import_apply(
    *,
    actor: User,
    data: bytes,
    file_format: str,
    owner: User | None = None,
    match: str = MATCH_ADDRESS,
    preview: str | None = None,
    context: AuditContext | None = None,
    operator: str = "",
) -> ImportReport:
    """Import `data`: every row's change in one transaction through machines.services, or nothing.

    `operator` names who ran a command (the audit row of the import is then theirs; each VM's own rows stay the
    actor's, as the services write them).
    """
    try:
        with transaction.atomic():
            planner = _Planner(actor=actor, owner=owner, match=match)
            report, steps = planner.plan(data, file_format)
            if preview is not None and preview != report.preview:
                raise ImportChanged(report)
            if report.has_errors:
                return report
            _write(steps, actor=actor, context=context)
            _record(report, actor=actor, owner=planner.owner, context=context, operator=operator)
    except _Overtaken:
        # The transaction is undone; the preview as it stands now says what changed.
        report = vms_import_preview(actor=actor, data=data, file_format=file_format, owner=owner, match=match)
        raise ImportChanged(report) from None
    return replace(report, applied=True)


class _Overtaken(Exception):
    """A VM changed, was deleted or was taken out of the actor's reach between the planning and its update."""


def _write(steps: list["_Step"], *, actor: User, context: AuditContext | None) -> None:
    services.vms_create_many(
        actor=actor, vms=[step.values for step in steps if step.row.action == CREATE], context=context
    )
    for step in steps:
        if step.row.action == UPDATE:
            try:
                services.vm_update(
                    vm=step.vm, actor=actor, expected_version=step.row.vm_version, context=context, **step.values
                )
            except (StaleVersion, VirtualMachine.DoesNotExist, PermissionDenied) as error:
                raise _Overtaken from error


def _record(report: ImportReport, *, actor: User, owner: User, context: AuditContext | None, operator: str) -> None:
    counts = report.counts
    details = {
        "format": report.file_format,
        "match": report.match,
        "owner": report.owner,
        "rows": len(report.rows),
        "created": counts[CREATE],
        "updated": counts[UPDATE],
        "unchanged": counts[UNCHANGED],
        "skipped": counts[SKIP],
        "errors": counts[ERROR],
        "passwords_set": sum(row.sets_password for row in report.rows),
        "ssh_keys_set": sum(row.sets_ssh_key for row in report.rows),
    }
    audit_record(
        action=Action.VM_IMPORT,
        actor=None if operator else actor,
        operator=operator,
        target=owner,
        context=context,
        details=details,
    )


@dataclass
class _Step:
    """A row's change as machines.services will make it. `values` may hold secrets: it never leaves this module."""

    row: ImportRow
    vm: VirtualMachine | None = None
    values: dict = field(default_factory=dict)


class _Planner:
    """Decides what each row of one file does, from data loaded once for the whole file."""

    def __init__(self, *, actor: User, owner: User | None, match: str):
        if match not in MATCHES:
            raise ValueError(f"Unknown match {match!r}: use one of {sorted(MATCHES)}.")
        require_right(rights.OWN_VMS, actor, _("Your role cannot import VMs."))
        owner = owner or actor
        if owner != actor:
            require_right(rights.ADMINISTER, actor, _("Only admins import VMs for someone else."))
            services.check_owner(owner)
        self.actor, self.owner, self.match = actor, owner, match
        self.may_administer = rights.ADMINISTER.granted_to(actor)
        self.may_assign = rights.ASSIGN_VMS.granted_to(actor)

    @sensitive_variables()
    def plan(self, data: bytes, file_format: str) -> tuple[ImportReport, list["_Step"]]:
        if file_format not in FORMATS:
            raise ValueError(f"Unknown format {file_format!r}: use one of {sorted(FORMATS)}.")
        parsed = read_file(data, file_format)
        self._numbering, self._renames = parsed.numbering, parsed.renames
        self._check_columns(parsed)
        self._load(parsed)
        self.duplicates = self._duplicates(parsed)
        planned = [self._plan_row(raw) for raw in parsed.rows]
        rows = tuple(step.row for step in planned)
        report = ImportReport(
            file_format=file_format,
            match=self.match,
            owner=self.owner.username,
            numbering=parsed.numbering,
            rows=rows,
            notes=tuple(parsed.notes),
            preview=self._fingerprint(data, file_format, rows),
        )
        return report, planned

    def _fingerprint(self, data: bytes, file_format: str, rows: tuple[ImportRow, ...]) -> str:
        # Keyed: a bare hash of a file would let whoever sees the fingerprint test guesses of the passwords in it.
        payload = json.dumps(
            [self.owner.pk, self.match, file_format, hashlib.sha256(data).hexdigest(), [vars(row) for row in rows]],
            default=str,
        )
        return salted_hmac("machines.imports.preview", payload, algorithm="sha256").hexdigest()

    def _check_columns(self, parsed: ParsedFile) -> None:
        if parsed.header is None:
            return
        needed = ("host", "username") if self.match == MATCH_ADDRESS else ("name",)
        missing = [column for column in needed if column not in parsed.header]
        if missing:
            raise FileRefused(
                MISSING_COLUMNS,
                {"columns": _(" and ").join(f"“{column}”" for column in missing), "match": MATCHES[self.match]},
            )

    # --- What the file may refer to, loaded once ---------------------------------------------------------------------

    def _load(self, parsed: ParsedFile) -> None:
        names = {
            raw.cells[column].strip().lower()
            for raw in parsed.rows
            for column in ("owner", "assigned_to")
            if isinstance(raw.cells.get(column), str) and raw.cells[column].strip()
        }
        users = User.objects.annotate(lower_username=Lower("username")).filter(lower_username__in=names)
        self.users = {user.lower_username: user for user in users} if names else {}
        owner_ids = {self.owner.pk} | {user.pk for user in self.users.values()}
        # Admins may import for anyone: every VM of the owners involved, private ones too, so that a row matches them
        # instead of making a duplicate (the Django admin shows admins every VM's metadata anyway).
        vms = VirtualMachine.objects.visible_to(self.actor) | VirtualMachine.objects.administrable_by(
            self.actor
        ).filter(owner__in=owner_ids)
        self.by_owner: dict[tuple, list[VirtualMachine]] = defaultdict(list)
        self.by_key: dict[tuple, list[VirtualMachine]] = defaultdict(list)
        for vm in vms.without_secrets().select_related("owner", "assigned_to"):
            for key in self._vm_keys(vm, parsed):
                self.by_owner[(vm.owner_id, key)].append(vm)
                self.by_key[key].append(vm)
        self.editable = set(VirtualMachine.objects.editable_by(self.actor).values_list("pk", flat=True))
        self.assignable = set(VirtualMachine.objects.assignable_by(self.actor).values_list("pk", flat=True))

    def _vm_keys(self, vm: VirtualMachine, parsed: ParsedFile) -> set[tuple]:
        if self.match == MATCH_ADDRESS:
            return {(vm.host.lower(), vm.port, vm.username)}
        keys = {(vm.name,)}
        if not parsed.renames:
            keys.add((host_alias(vm),))  # how VM Lab's own ssh_config export names it
        return keys

    def _row_key(self, values: dict) -> tuple | None:
        if self.match == MATCH_NAME:
            return (values["name"].strip(),) if values.get("name", "").strip() else None
        host, username = values.get("host", "").strip().lower(), values.get("username", "").strip()
        port = values.get("port")
        port = DEFAULT_PORT if port in (None, "") else _whole_number(port)
        return (host, port, username) if host and username and port is not None else None

    def _duplicates(self, parsed: ParsedFile) -> dict[int, list[int]]:
        """For each row whose key (with its owner) another row of the file has too: the numbers of those rows."""
        seen: dict[tuple, list[int]] = defaultdict(list)
        for raw in parsed.rows:
            if raw.skipped:
                continue
            values, _errors, _refused = _typed(raw.cells)
            key = self._row_key(values)
            owner = values.get("owner", "").strip().lower()
            if key is not None:
                seen[("" if owner == self.owner.username.lower() else owner, key)].append(raw.number)
        return {
            number: [other for other in numbers if other != number]
            for numbers in seen.values()
            if len(numbers) > 1
            for number in numbers
        }

    # --- One row ---------------------------------------------------------------------------------------------------

    def _plan_row(self, raw: RawRow) -> _Step:
        notes = tuple(raw.notes)
        if raw.skipped:
            return _Step(ImportRow(raw.number, SKIP, reasons=(raw.skipped,), notes=notes))
        values, errors, refused = _typed(raw.cells)
        errors = [*raw.errors, *errors]
        refused |= raw.refused
        if raw.number in self.duplicates:
            errors.append(self._duplicate_message(raw.number))
        row_owner = self._row_owner(values, errors)
        vm = self._match(values, row_owner, errors)
        data = self._form_data(values, vm)
        form = VirtualMachineRowForm(data)
        if not form.is_valid():
            # A cell refused above is missing here: "This field is required" would only repeat that.
            errors += [
                f"{column}: {message}"
                for column, messages in form.errors.items()
                if column not in refused
                for message in messages
            ]
        assignee = self._assignee(values, errors)
        cleaned = {**data, **form.cleaned_data}
        shown = {
            "name": cleaned["name"] or "",
            "host": cleaned["host"] or "",
            "port": cleaned["port"],
            "username": cleaned["username"] or "",
            "shared": cleaned["shared"],
            "owner": (vm.owner if vm else row_owner or self.owner).username,
            "assigned_to": self._shown_assignee(values, vm),
            "sets_password": bool(values.get("password")),
            "sets_ssh_key": bool(values.get("ssh_key", "").strip()),
            "vm_id": vm.pk if vm else None,
            "vm_version": vm.version if vm else None,
            "notes": notes,
        }
        if errors:
            return _Step(ImportRow(raw.number, ERROR, reasons=tuple(errors), **shown), vm)
        if vm is None:
            return self._create(raw, cleaned, row_owner, assignee, shown)
        return self._update(raw, cleaned, vm, assignee, values, shown)

    def _duplicate_message(self, number: int) -> str:
        others = ", ".join(WHERE[self._numbering] % {"number": other} for other in self.duplicates[number])
        if self.match == MATCH_NAME:
            return _("The same name as %(others)s: a file gives each VM once.") % {"others": others}
        return _("The same host, port and username as %(others)s: a file gives each VM once.") % {"others": others}

    def _row_owner(self, values: dict, errors: list[str]) -> User | None:
        name = values.get("owner", "").strip()
        if not name:
            return None
        user = self.users.get(name.lower())
        if user is None:
            errors.append(_("owner: there is no user named “%(name)s”.") % {"name": name})
        return user

    def _match(self, values: dict, row_owner: User | None, errors: list[str]) -> VirtualMachine | None:
        key = self._row_key(values)
        if key is None:
            return None
        if row_owner is not None:
            candidates = self.by_owner[(row_owner.pk, key)]
        else:
            candidates = self.by_owner[(self.owner.pk, key)] or [
                vm for vm in self.by_key[key] if vm.owner_id != self.owner.pk
            ]
        candidates = list({vm.pk: vm for vm in candidates}.values())
        if len(candidates) > 1:
            names = ", ".join(f"“{vm.name}” ({vm.owner.username})" for vm in candidates)
            if self.match == MATCH_NAME:
                message = _("%(count)s VMs have this name: %(names)s. Match by host, port and username instead.")
            else:
                message = _("%(count)s VMs have this host, port and username: %(names)s. Match by name instead.")
            errors.append(message % {"count": len(candidates), "names": names})
            return None
        return candidates[0] if candidates else None

    def _form_data(self, values: dict, vm: VirtualMachine | None) -> dict:
        """What the New VM form gets for this row: the file's values; for a matched VM, its own where the file has
        none (an empty cell, or a column the file does not have)."""
        data = {name: values.get(name) for name in FORM_FIELDS}
        for name in ("name", "host", "port", "username", "shared"):
            if data[name] in (None, "") and vm is not None:
                data[name] = getattr(vm, name)
        if vm is not None and not self._renames:
            data["name"] = vm.name
        if data["port"] in (None, ""):
            data["port"] = DEFAULT_PORT
        if data["shared"] is None:
            data["shared"] = VirtualMachine._meta.get_field("shared").default
        data["password"] = data["password"] or ""
        data["ssh_key"] = data["ssh_key"] or ""
        return data

    def _assignee(self, values: dict, errors: list[str]) -> User | None:
        name = values.get("assigned_to", "").strip()
        if not name:
            return None
        user = self.users.get(name.lower())
        if user is None or not rights.BE_ASSIGNED_VMS.granted_to(user):
            errors.append(NO_ASSIGNEE % {"name": name})
            return None
        return user

    def _shown_assignee(self, values: dict, vm: VirtualMachine | None) -> str:
        if "assigned_to" in values:
            return values["assigned_to"].strip()
        return vm.assigned_to.username if vm is not None and vm.assigned_to else ""

    def _create(self, raw: RawRow, cleaned: dict, row_owner: User | None, assignee: User | None, shown: dict) -> _Step:
        owner = row_owner or self.owner
        errors = []
        if owner != self.actor and not self.may_administer:
            errors.append(
                _("owner: only admins import VMs for someone else, and this row's owner is %(owner)s.")
                % {"owner": owner.username}
            )
        elif owner != self.owner:
            try:
                services.check_owner(owner)
            except ValidationError as error:
                errors += [f"owner: {message}" for message in error.messages]
        if assignee is not None and not self.may_assign:
            errors.append(_("assigned_to: your role cannot assign VMs; leave it empty."))
        if errors:
            return _Step(ImportRow(raw.number, ERROR, reasons=tuple(errors), **shown))
        values = {name: cleaned[name] for name in FORM_FIELDS} | {"assigned_to": assignee, "owner": owner}
        return _Step(ImportRow(raw.number, CREATE, **shown), values=values)

    def _update(
        self, raw: RawRow, cleaned: dict, vm: VirtualMachine, assignee: User | None, values: dict, shown: dict
    ) -> _Step:
        changes = {name: cleaned[name] for name in services.METADATA_FIELDS if cleaned[name] != getattr(vm, name)}
        if "assigned_to" in values and (assignee.pk if assignee else None) != vm.assigned_to_id:
            changes["assigned_to"] = assignee
        if cleaned["password"]:
            changes["password"] = cleaned["password"]
        if cleaned["ssh_key"]:
            changes["ssh_key"] = cleaned["ssh_key"]
        if not changes:
            return _Step(ImportRow(raw.number, UNCHANGED, **shown), vm)
        errors = []
        if vm.pk not in self.editable:
            errors.append(_("You cannot change this VM: it is %(owner)s's.") % {"owner": vm.owner.username})
        elif "assigned_to" in changes and vm.pk not in self.assignable:
            errors.append(
                _("assigned_to: you cannot assign this VM.")
                if self.may_assign
                else _("assigned_to: your role cannot assign VMs; leave it as it is.")
            )
        row = ImportRow(raw.number, ERROR if errors else UPDATE, changes=tuple(changes), reasons=tuple(errors), **shown)
        return _Step(row, vm, values={} if errors else changes)


def _typed(cells: dict) -> tuple[dict, list[str], set[str]]:
    """The row's cells as the form takes them: text, a port as text or a number, `shared` as a boolean.

    JSON and YAML give numbers and booleans where CSV gives text; YAML reads yes, no, on and off as booleans and
    2024-01-01 as a date, so a value of the wrong kind says to write it in quotes. Returns the values, the errors and
    the columns refused.
    """
    values, errors, refused = {}, [], set()
    for column, value in cells.items():
        if column == "shared":
            blank = value is None or (isinstance(value, str) and not value.strip())
            flag = None if blank else _flag(value)
            if flag is None and not blank:
                errors.append(_("shared: “%(value)s” is neither true nor false.") % {"value": value})
                refused.add(column)
            values[column] = flag
        elif value is None:
            values[column] = ""
        elif isinstance(value, str):
            values[column] = value
        elif isinstance(value, int) and not isinstance(value, bool) and column not in SECRET_COLUMNS:
            values[column] = str(value)
        elif column in SECRET_COLUMNS:
            # Never shown back: it may be the secret itself.
            errors.append(_("%(column)s: not text; write it in quotes.") % {"column": column})
            refused.add(column)
        else:
            errors.append(
                _("%(column)s: %(value)s is not text; write it in quotes.") % {"column": column, "value": value}
            )
            refused.add(column)
    return values, errors, refused


def _flag(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    return None


def _whole_number(value) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None
