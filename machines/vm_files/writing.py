"""Writing VMs to a file, in each format the import reads back unchanged. Never a secret: the VMs are loaded without
them (`VirtualMachine.objects.for_list()`), and no column holds one.

CSV cells that a spreadsheet would run as a formula get a ' in front (CSV injection); the import takes it off again.
"""

import tablib

from machines.vm_files import sshconfig
from machines.vm_files.columns import CSV, EXPORTED_COLUMNS, JSON, SSH_CONFIG, YAML, neutralise_formula

CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    JSON: "application/json",
    YAML: "application/yaml; charset=utf-8",
    SSH_CONFIG: "text/plain; charset=utf-8",
}
EXTENSIONS = {CSV: "csv", JSON: "json", YAML: "yaml", SSH_CONFIG: "ssh-config"}
# Excel reads a CSV file as UTF-8 only when it starts with a byte order mark; the import ignores it.
CSV_BOM = "\ufeff"


def row(vm) -> dict:
    """The exported columns of `vm` (loaded with its owner and assignee)."""
    return {
        "name": vm.name,
        "host": vm.host,
        "port": vm.port,
        "username": vm.username,
        "shared": vm.shared,
        "assigned_to": vm.assigned_to.username if vm.assigned_to else None,
        "owner": vm.owner.username,
    }


def render(vms, file_format: str) -> str:
    if file_format == SSH_CONFIG:
        return sshconfig.render(vms)
    rows = [row(vm) for vm in vms]
    if file_format == CSV:
        dataset = tablib.Dataset(*(_csv_cells(values) for values in rows), headers=EXPORTED_COLUMNS)
        return CSV_BOM + dataset.export("csv", lineterminator="\n")
    dataset = tablib.Dataset(*(tuple(values.values()) for values in rows), headers=EXPORTED_COLUMNS)
    if file_format == JSON:
        return dataset.export("json")
    if file_format == YAML:
        return dataset.export("yaml")
    raise ValueError(f"Unknown format {file_format!r}.")


def _csv_cells(values: dict) -> tuple[str, ...]:
    return tuple(neutralise_formula(_csv_text(value)) for value in values.values())


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
