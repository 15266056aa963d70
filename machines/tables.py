"""The rows of a VM table (templates/machines/includes/vm_table.html), built once per table."""

from collections.abc import Iterable

from django.utils import timezone
from django.utils.translation import gettext

from machines.models import VirtualMachine
from vmlab.core.dates import access_end
from vmlab.core.rows import PkUrl

DEFAULT_PORT = 22
NOBODY = "—"


def vm_rows(vms: Iterable[tuple]) -> list[dict]:
    """One dict per VM with what its row shows, from the rows of VirtualMachine.objects.for_table(): every value
    read here is in them (no query per row), and no secret is, only whether one is set."""
    detail_url = PkUrl(VirtualMachine.detail_url_name)
    # For display, by this process's clock: which VMs and accounts a user may still reach is decided in SQL.
    now = timezone.now()
    until_text = gettext("until %(until)s")  # translated once per table, not once per row
    rows = []
    for vm in vms:
        until = vm.assigned_until
        assignment_running = vm.assigned_to__username is not None and (until is None or until > now)
        owner_expires = vm.owner__access_expires_at
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
                "owner_access_ended": owner_expires is not None and owner_expires <= now,
                "assigned_to": vm.assigned_to__username if assignment_running else NOBODY,
                "assigned_until": until_text % {"until": access_end(until)} if assignment_running and until else "",
                "has_password": has_password,
                "has_ssh_key": has_ssh_key,
                "no_secret": not (has_password or has_ssh_key),
                "vm": vm,  # the row as read, for columns of upper layers (connect's live status)
            }
        )
    return rows
