"""The rows of a VM table (templates/machines/includes/vm_table.html), built once per table."""

from collections.abc import Iterable

from machines.models import VirtualMachine
from vmlab.core.rows import PkUrl

DEFAULT_PORT = 22
NOBODY = "—"


def vm_rows(vms: Iterable[tuple]) -> list[dict]:
    """One dict per VM with what its row shows, from the rows of VirtualMachine.objects.for_table(): every value
    read here is in them (no query per row), and no secret is, only whether one is set."""
    detail_url = PkUrl(VirtualMachine.detail_url_name)
    rows = []
    for vm in vms:
        connection = f"{vm.username}@{vm.host}"
        port = vm.port
        has_password, has_ssh_key = vm.has_password, vm.has_ssh_key
        rows.append(
            {
                "url": detail_url(vm.pk),
                "name": vm.name,
                "shared": vm.shared,
                "connection": connection if port == DEFAULT_PORT else f"{connection}:{port}",
                "owner": vm.owner__username,
                "owner_disabled": not vm.owner__is_active,
                "assigned_to": vm.assigned_to__username or NOBODY,
                "has_password": has_password,
                "has_ssh_key": has_ssh_key,
                "no_secret": not (has_password or has_ssh_key),
            }
        )
    return rows
