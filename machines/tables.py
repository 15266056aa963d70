"""The rows of a VM table (templates/machines/includes/vm_table.html), built once per table."""

from collections.abc import Iterable

from machines.models import VirtualMachine
from vmlab.core.rows import PkUrl

DEFAULT_PORT = 22
NOBODY = "—"


def vm_rows(vms: Iterable[VirtualMachine]) -> list[dict]:
    """One dict per VM with what its row shows. The VMs come from VirtualMachine.objects.for_table(): every field
    read here is loaded with them (no query per row) and no secret is, only whether one is set."""
    detail_url = PkUrl("machines:detail")
    rows = []
    for vm in vms:
        connection = f"{vm.username}@{vm.host}"
        owner = vm.owner
        assigned_to = vm.assigned_to
        rows.append(
            {
                "url": detail_url(vm.pk),
                "name": vm.name,
                "shared": vm.shared,
                "connection": connection if vm.port == DEFAULT_PORT else f"{connection}:{vm.port}",
                "owner": owner.username,
                "owner_disabled": not owner.is_active,
                "assigned_to": assigned_to.username if assigned_to is not None else NOBODY,
                "has_password": vm.has_password,
                "has_ssh_key": vm.has_ssh_key,
                "no_secret": not (vm.has_password or vm.has_ssh_key),
            }
        )
    return rows
