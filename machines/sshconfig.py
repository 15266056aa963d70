"""What a VM looks like to an SSH client: the `ssh` command line and `~/.ssh/config` blocks (never a secret).

The VM page's download (one VM) and the API's `vms/ssh-config/` (every VM the caller sees) are built here.
"""

import re
from collections.abc import Iterable

from django.utils.text import slugify

from machines.models import VirtualMachine


def host_alias(vm: VirtualMachine) -> str:
    """A name for `Host` lines and file names: the VM's name as a slug, or vm-<pk> if nothing is left."""
    return slugify(vm.name) or f"vm-{vm.pk}"


def key_filename(vm: VirtualMachine) -> str:
    """<vm-name>_id, like ssh-keygen's id_<type>: the name with anything unsafe in a file name replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", vm.name).strip(".-")
    return f"{safe or f'vm-{vm.pk}'}_id"


def ssh_command(vm: VirtualMachine) -> str:
    return f"ssh -p {vm.port} {vm.username}@{vm.host}"


def ssh_config_entry(vm: VirtualMachine, *, alias: str | None = None) -> str:
    """A ~/.ssh/config block; IdentityFile names the file that revealing the key downloads. `vm` comes from
    VirtualMachine.objects.without_secrets() (has_ssh_key), so that nothing is decrypted."""
    lines = [
        f"Host {alias or host_alias(vm)}",
        f"    HostName {vm.host}",
        f"    Port {vm.port}",
        f"    User {vm.username}",
    ]
    if vm.has_ssh_key:
        lines += [f"    IdentityFile ~/.ssh/{key_filename(vm)}", "    IdentitiesOnly yes"]
    return "\n".join(lines) + "\n"


def ssh_config(vms: Iterable[VirtualMachine]) -> str:
    """One ~/.ssh/config for many VMs. ssh uses the first block whose Host matches, so a name that two VMs share
    gets the VM's id appended from its second use on: every VM stays reachable by its own alias."""
    used: set[str] = set()
    blocks = []
    for vm in vms:
        alias = host_alias(vm)
        if alias in used:
            alias = f"{alias}-{vm.pk}"
        used.add(alias)
        blocks.append(ssh_config_entry(vm, alias=alias))
    return "\n".join(blocks)
