"""The columns of a VM file, what every format reads into, and the spreadsheet-formula rule of CSV cells."""

import re
from dataclasses import dataclass, field
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from vmlab.core.numbers import grouped

CSV, JSON, YAML, SSH_CONFIG = "csv", "json", "yaml", "ssh_config"
FORMATS = {
    CSV: _("CSV (spreadsheets)"),
    JSON: _("JSON"),
    YAML: _("YAML (e.g. from an Ansible inventory)"),
    SSH_CONFIG: _("OpenSSH client config (~/.ssh/config)"),
}

# How a file's name tells its format (what VM Lab's exports are named, and OpenSSH's own file names).
SUFFIXES = {".csv": CSV, ".json": JSON, ".yaml": YAML, ".yml": YAML, ".ssh-config": SSH_CONFIG, ".conf": SSH_CONFIG}
SSH_CONFIG_NAMES = {"config", "ssh_config"}

# In the order exports write them. Secrets come last and are never exported.
COLUMNS = ("name", "host", "port", "username", "shared", "assigned_to", "owner", "password", "ssh_key")
SECRET_COLUMNS = ("password", "ssh_key")
EXPORTED_COLUMNS = tuple(column for column in COLUMNS if column not in SECRET_COLUMNS)

# Twice the largest SSH key a VM takes (16 KiB): anything longer is not a value VM Lab could store.
CELL_MAX_LENGTH = 32 * 1024

# What spreadsheets read as the start of a formula (OWASP's CSV injection list).
FORMULA_START = "=+-@\t\r"
_NEUTRALISED = re.compile(f"'*[{re.escape(FORMULA_START)}]")

FORMULA_REFUSED = _(
    "%(column)s: “%(value)s” starts with %(first)s, so a spreadsheet would run it as a formula. VM Lab does not take "
    "formulas: write the value itself, or put a ' in front of it to keep it as text."
)


class FileRefused(ValidationError):
    """The whole file cannot be imported (encoding, syntax, size, Include, anchors, ...): nothing is read from it."""

    def __init__(self, message, params=None):
        super().__init__(message, code="import_file_refused", params=params)


@dataclass
class RawRow:
    """One VM as a file gives it, before any validation.

    `cells` holds the columns this row has (text, or numbers and booleans from JSON and YAML); a column it does not
    have leaves a matched VM's value as it is. `number` says where the row is: see ParsedFile.numbering.
    """

    number: int
    cells: dict[str, object] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # found while reading: oversized cells, formulas, unknown keys
    refused: set[str] = field(default_factory=set)  # columns whose cells were refused while reading (and dropped)
    notes: list[str] = field(default_factory=list)  # worth knowing, not wrong: e.g. an IdentityFile not read
    skipped: str = ""  # why this entry is not a VM at all (an ssh_config wildcard Host or Match block)


@dataclass
class ParsedFile:
    rows: list[RawRow]
    numbering: str  # what RawRow.number counts: "row" (CSV, the header is row 1), "item" (JSON, YAML) or "line"
    notes: list[str] = field(default_factory=list)
    # Whether the file's `name` renames a VM it matches. An ssh_config's Host is an alias typed on the command
    # line, often shortened: it names new VMs only.
    renames: bool = True
    # Columns that every row of a CSV file has (its header); None for formats where each item has its own keys.
    header: tuple[str, ...] | None = None


def format_for_filename(name: str) -> str | None:
    """The format a file's name says, or None."""
    path = PurePath(name.lower())
    return SSH_CONFIG if path.name in SSH_CONFIG_NAMES else SUFFIXES.get(path.suffix)


def neutralise_formula(text: str) -> str:
    """A cell that no spreadsheet runs as a formula: a ' in front of anything that starts like one.

    Cells that already start with quotes before such a character get one more, so that `read_spreadsheet_text`
    gives every exported value back exactly.
    """
    return f"'{text}" if _NEUTRALISED.match(text) else text


def read_spreadsheet_text(column: str, text: str) -> str:
    """A CSV cell's value: a formula is refused (ValueError with the message); the ' that `neutralise_formula`
    (or a person) put in front of one is taken off."""
    if text and text[0] in FORMULA_START:
        shown = text[:40] + ("…" if len(text) > 40 else "")
        first = {"\t": _("a tab"), "\r": _("a carriage return")}.get(text[0], text[0])
        raise ValueError(FORMULA_REFUSED % {"column": column, "value": shown, "first": first})
    if text.startswith("'") and _NEUTRALISED.match(text):
        return text[1:]
    return text


def cell_too_long(column: str, value: object) -> str | None:
    """The message for a cell longer than CELL_MAX_LENGTH, else None."""
    if isinstance(value, str) and len(value) > CELL_MAX_LENGTH:
        return _(
            "%(column)s: this cell holds %(length)s characters; a cell holds at most %(limit)s (an SSH key at most "
            "16 KiB)."
        ) % {"column": column, "length": grouped(len(value)), "limit": grouped(CELL_MAX_LENGTH)}
    return None
