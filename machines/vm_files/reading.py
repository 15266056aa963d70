"""Reading an uploaded file of VMs into RawRows: UTF-8 text only, at most MAX_REQUEST_BODY bytes and IMPORT_MAX_ROWS
rows, and nothing in it that could make the server work without bound (YAML aliases, deep nesting, huge cells).

A problem with the whole file raises FileRefused; a problem with one row is written on that row and left for the
preview to show with the others.
"""

import csv
import io
import json

import tablib
import yaml
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from machines.vm_files import sshconfig
from machines.vm_files.columns import (
    COLUMNS,
    CSV,
    JSON,
    SECRET_COLUMNS,
    SSH_CONFIG,
    YAML,
    FileRefused,
    ParsedFile,
    RawRow,
    cell_too_long,
    read_spreadsheet_text,
)
from vmlab.core.numbers import grouped
from vmlab.core.sizes import file_size

# libyaml when PyYAML was built with it (the wheels are): the pure-Python parser is ten times slower.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# List, item, and one level more for a value that is wrongly a list or mapping (refused on its row): anything deeper
# is not a file of VMs, and libyaml's composer would recurse once per level.
YAML_MAX_DEPTH = 3
UTF8_BOM = b"\xef\xbb\xbf"
# Longest first: a UTF-32 little-endian BOM starts with the UTF-16 one.
OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
OTHER_DELIMITERS = {";": "“;”", "\t": gettext_lazy("tabs"), "|": "“|”"}

EMPTY_FILE = gettext_lazy("The file is empty.")
NO_VMS = gettext_lazy("No VMs found in this file.")
FILE_TOO_LARGE = gettext_lazy(
    "This file is larger than %(limit)s, the most an import takes (MAX_REQUEST_BODY): split it into smaller files."
)
TOO_MANY_ROWS = gettext_lazy(
    "This file has more than %(limit)s VMs; an import takes at most %(limit)s (IMPORT_MAX_ROWS): split it into "
    "smaller files."
)
OTHER_ENCODING = gettext_lazy(
    "This file is %(encoding)s text (Excel's “Unicode Text” is UTF-16): save it as UTF-8 (in Excel, “CSV UTF-8 (comma "
    "delimited)”) and upload that file."
)
NOT_UTF8 = gettext_lazy(
    "This file is not UTF-8 text (byte %(position)s): save it as UTF-8 (in Excel, “CSV UTF-8 (comma delimited)”) and "
    "upload that file."
)
NUL_CHARACTERS = gettext_lazy(
    "This file holds NUL characters: it is not a text file, or it is UTF-16 without a byte order mark. Save it as "
    "UTF-8 text and upload that file."
)
BOM_IGNORED = gettext_lazy("The file starts with a UTF-8 byte order mark (Excel writes one): it was ignored.")
WRONG_DELIMITER = gettext_lazy(
    "The columns of this file are separated by %(delimiter)s, not by commas: save it as CSV with commas (in Excel, "
    "“CSV UTF-8 (comma delimited)”) and upload it again."
)
UNKNOWN_COLUMNS = gettext_lazy("Unknown column(s) %(unknown)s: the columns are %(known)s.")
DUPLICATE_COLUMN = gettext_lazy("The column “%(column)s” appears twice in the header.")
UNNAMED_COLUMN = gettext_lazy(
    "Row %(row)s has a value in column %(position)s, which has no name in the header: name the column or empty it."
)
TOO_MANY_CELLS = gettext_lazy(
    "Row %(row)s has %(cells)s cells but the header names %(columns)s columns (a comma inside a value must be "
    "inside double quotes)."
)
NO_HEADER = gettext_lazy("The file has no header row: its first row names the columns, e.g. name,host,port,username.")
INVALID_CSV = gettext_lazy("This is not a CSV file VM Lab can read (row %(row)s): %(error)s.")
INVALID_JSON = gettext_lazy("This is not valid JSON (line %(line)s, column %(column)s): %(error)s.")
INVALID_YAML = gettext_lazy("This is not valid YAML: %(error)s")
NESTED_TOO_DEEPLY = gettext_lazy(
    "This file is nested too deeply: a file of VMs is a list of items whose values are text, numbers, true/false "
    "or empty."
)
NOT_A_LIST = gettext_lazy(
    "This file is not a list of VMs: write a list of items with the keys name, host, port, username, …, e.g. "
    '[{"name": "web", "host": "web.lab.example", "username": "ubuntu"}].'
)
YAML_ALIASES = gettext_lazy(
    "YAML anchors and aliases (&name, *name, line %(line)s) are not accepted: write every VM out in full."
)
NOT_AN_ITEM = gettext_lazy("This item is not a mapping of keys (name, host, port, username, …) to values.")
UNKNOWN_KEYS = gettext_lazy("Unknown key(s) %(unknown)s: the keys are %(known)s.")
NESTED_VALUE = gettext_lazy("%(column)s: a list or mapping; a value is text, a number, true/false or empty.")


def _known():
    return ", ".join(COLUMNS)


def read_file(data: bytes, file_format: str) -> ParsedFile:
    """The rows of `data`, a file in `file_format` (machines.vm_files.columns.FORMATS)."""
    if len(data) > settings.MAX_REQUEST_BODY:
        raise FileRefused(FILE_TOO_LARGE, {"limit": file_size(settings.MAX_REQUEST_BODY)})
    text, notes = decode(data)
    reader = {CSV: read_csv, JSON: read_json, YAML: read_yaml, SSH_CONFIG: sshconfig.read}[file_format]
    parsed = reader(text)
    if not parsed.rows:
        raise FileRefused(NO_VMS)
    parsed.notes[:0] = notes
    check_row_count(len(parsed.rows))
    return parsed


def check_row_count(count: int) -> None:
    if count > settings.IMPORT_MAX_ROWS:
        raise FileRefused(TOO_MANY_ROWS, {"limit": grouped(settings.IMPORT_MAX_ROWS)})


def decode(data: bytes) -> tuple[str, list[str]]:
    """UTF-8 text, without the byte order mark Excel writes (noted); any other encoding is refused."""
    if not data.strip():
        raise FileRefused(EMPTY_FILE)
    for bom, encoding in OTHER_BOMS:
        if data.startswith(bom):
            raise FileRefused(OTHER_ENCODING, {"encoding": encoding})
    notes = []
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
        notes.append(str(BOM_IGNORED))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FileRefused(NOT_UTF8, {"position": grouped(error.start + 1)}) from None
    if "\x00" in text:
        raise FileRefused(NUL_CHARACTERS)
    return text, notes


def _with_limits(row: RawRow) -> RawRow:
    """Oversized cells are refused on their row and dropped, so that nothing else spends time on them."""
    for column, value in list(row.cells.items()):
        message = cell_too_long(column, value)
        if message:
            row.errors.append(message)
            row.refused.add(column)
            del row.cells[column]
    return row


# --- CSV -------------------------------------------------------------------------------------------------------------


def read_csv(text: str) -> ParsedFile:
    # The module-wide limit (128 KiB by default) would stop the whole file at one long cell: raise it to the file's
    # size, which MAX_REQUEST_BODY bounds, so that the cell is refused on its own row. Only ever raised.
    csv.field_size_limit(max(csv.field_size_limit(), len(text)))
    header = _check_csv_structure(text)
    dataset = tablib.Dataset()
    dataset.load(text, format="csv")
    rows = []
    # tablib skips empty lines, as the structure check does: numbers are spreadsheet rows, the header being row 1.
    for number, values in enumerate(dataset, start=2):
        if not any(value.strip() for value in values):
            continue  # a row of empty cells, as spreadsheets leave below the data
        row = RawRow(number=number)
        for column, value in zip(header, values, strict=True):
            if column is None:
                continue
            # Secrets are taken as typed: a password may start with any character, and secrets are never exported.
            if value and column not in SECRET_COLUMNS:
                try:
                    value = read_spreadsheet_text(column, value)
                except ValueError as error:
                    row.errors.append(str(error))
                    row.refused.add(column)
                    continue
            row.cells[column] = value
        rows.append(_with_limits(row))
    return ParsedFile(rows=rows, numbering="row", header=tuple(column for column in header if column))


def _header_name(cell: str) -> str:
    return "_".join(cell.strip().lower().split())


def _check_csv_structure(text: str) -> list[str | None]:
    """The columns of the header (None for unnamed ones), once the file is known to be CSV VM Lab can read: its
    delimiter, its header, no row wider than the header, no value under an unnamed column, and at most
    IMPORT_MAX_ROWS rows (counted without keeping them)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if not header:
            raise FileRefused(NO_HEADER)
        columns = _columns(header)
        number, count = 1, 0
        for record in reader:
            if not record:
                continue  # an empty line: tablib skips it too, so rows are numbered alike
            number += 1
            _check_record(record, columns, row=number)
            if any(value.strip() for value in record):
                count += 1
                check_row_count(count)
    except csv.Error as error:
        raise FileRefused(INVALID_CSV, {"row": grouped(reader.line_num), "error": error}) from None
    return columns


def _columns(header: list[str]) -> list[str | None]:
    written = [cell for cell in header if cell.strip()]
    if len(written) == 1:
        for delimiter, label in OTHER_DELIMITERS.items():
            if delimiter in written[0]:
                raise FileRefused(WRONG_DELIMITER, {"delimiter": label})
    names = [_header_name(cell) for cell in header]
    named = [name for name in names if name]
    unknown = [name for name in named if name not in COLUMNS]
    if unknown:
        raise FileRefused(UNKNOWN_COLUMNS, {"unknown": ", ".join(f"“{name}”" for name in unknown), "known": _known()})
    for name in named:
        if named.count(name) > 1:
            raise FileRefused(DUPLICATE_COLUMN, {"column": name})
    return [name or None for name in names]


def _check_record(record: list[str], columns: list[str | None], *, row: int) -> None:
    if len(record) > len(columns):
        raise FileRefused(TOO_MANY_CELLS, {"row": grouped(row), "cells": len(record), "columns": len(columns)})
    for position, (column, value) in enumerate(zip(columns, record, strict=False), start=1):
        if column is None and value.strip():
            raise FileRefused(UNNAMED_COLUMN, {"row": grouped(row), "position": position})


# --- JSON and YAML: a list of mappings -----------------------------------------------------------------------------


def read_json(text: str) -> ParsedFile:
    try:
        data = json.loads(text)
    except RecursionError:
        raise FileRefused(NESTED_TOO_DEEPLY) from None
    except json.JSONDecodeError as error:
        raise FileRefused(INVALID_JSON, {"line": error.lineno, "column": error.colno, "error": error.msg}) from None
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        raise FileRefused(INVALID_JSON, {"line": "?", "column": "?", "error": error}) from None
    return _items(data)


def read_yaml(text: str) -> ParsedFile:
    """YAML without anchors and aliases: `yaml.safe_load` expands them, so a few hundred bytes can make gigabytes
    ("billion laughs"). The events are checked first (anchors, depth, how many items), and only then composed."""
    try:
        _check_yaml_events(text)
        data = yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 (a safe loader: CSafeLoader or SafeLoader)
    except yaml.YAMLError as error:
        if "maximum nesting depth" in str(error):  # libyaml's own limit, met while scanning ahead of our check
            raise FileRefused(NESTED_TOO_DEEPLY) from None
        raise FileRefused(INVALID_YAML, {"error": " ".join(str(error).split())}) from None
    return _items(data)


def _check_yaml_events(text: str) -> None:
    depth = items = 0
    for event in yaml.parse(text, Loader=YAML_LOADER):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise FileRefused(YAML_ALIASES, {"line": event.start_mark.line + 1})
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > YAML_MAX_DEPTH:
                raise FileRefused(NESTED_TOO_DEEPLY)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if depth == 2 and isinstance(event, yaml.CollectionStartEvent):
            items += 1
            check_row_count(items)


def _items(data) -> ParsedFile:
    if not isinstance(data, list):
        raise FileRefused(NOT_A_LIST)
    check_row_count(len(data))
    return ParsedFile(rows=[_item(number, item) for number, item in enumerate(data, start=1)], numbering="item")


def _item(number: int, item) -> RawRow:
    row = RawRow(number=number)
    if not isinstance(item, dict):
        row.errors.append(str(NOT_AN_ITEM))
        return row
    unknown = [str(key) for key in item if key not in COLUMNS]
    if unknown:
        row.errors.append(_(UNKNOWN_KEYS) % {"unknown": ", ".join(f"“{key}”" for key in unknown), "known": _known()})
    for column, value in item.items():
        if column not in COLUMNS:
            continue
        if isinstance(value, list | dict):
            row.errors.append(_(NESTED_VALUE) % {"column": column})
            row.refused.add(column)
            continue
        row.cells[column] = value
    return _with_limits(row)
