"""OpenSSH client config (~/.ssh/config): reading one into VM rows, and writing VMs as its Host entries.

Parsing is paramiko's (`SSHConfig`). Its `lookup()` is never called on an uploaded file: it would run the commands of
`Match exec` lines and look names up in DNS (canonicalisation, the %l token). The parsed blocks are read instead, and
each concrete Host alias gets its values as OpenSSH gives them: the first value wins, from every Host block whose
patterns match the alias, in file order. `Include` is refused (VM Lab reads no other file on the server),
`IdentityFile` is reported and never read, and wildcard Host and Match blocks are listed as skipped.
"""

import re

from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from paramiko import SSHConfig
from paramiko.ssh_exception import ConfigParseError

from machines.vm_files.columns import FileRefused, ParsedFile, RawRow

PATTERN_CHARACTERS = "*?!"
# What a VM keeps of a Host entry; IdentitiesOnly goes with IdentityFile, which is reported on its own.
USED_KEYS = frozenset({"hostname", "port", "user", "identityfile", "identitiesonly"})

INVALID_SSH_CONFIG = gettext_lazy("This is not an OpenSSH client config VM Lab can read: %(error)s.")
INCLUDE_REFUSED = gettext_lazy(
    "Line %(line)s: Include is not accepted: VM Lab never reads other files on the server. Paste the Host entries of "
    "the included files into this file instead."
)
NO_HOSTS = gettext_lazy("This file has no Host entries.")


def read(text: str) -> ParsedFile:
    try:
        config = SSHConfig.from_text(text)
    except ConfigParseError as error:
        raise FileRefused(INVALID_SSH_CONFIG, {"error": error}) from None
    lines = _keyword_lines(text)
    for number, keyword in lines:
        if keyword == "include":
            raise FileRefused(INCLUDE_REFUSED, {"line": number})
    # paramiko's parsed blocks (a private attribute, stable since paramiko 1.x; the version is pinned): the first is
    # the settings before any Host line, which apply to every host, then one per Host or Match line, in order.
    blocks = config._config
    starts = [number for number, keyword in lines if keyword in ("host", "match")]
    host_blocks = [block for block in blocks if "host" in block]
    rows = []
    for number, block in zip(starts, blocks[1:], strict=True):
        rows += _rows(config, number, block, host_blocks)
    if not rows:
        raise FileRefused(NO_HOSTS)
    return ParsedFile(rows=rows, numbering="line", renames=False)


def _keyword_lines(text: str) -> list[tuple[int, str]]:
    """(line number, keyword in lower case) of each setting, read as paramiko reads the lines."""
    found = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            match = SSHConfig.SETTINGS_REGEX.match(line)
            if match:
                found.append((number, match.group(1).lower()))
    return found


def _rows(config: SSHConfig, number: int, block: dict, host_blocks: list[dict]) -> list[RawRow]:
    if "matches" in block:
        reason = _(
            "A Match block: VM Lab does not evaluate its conditions (and never runs a Match exec command). Copy its "
            "settings into the Host entries they are meant for."
        )
        return [RawRow(number=number, skipped=reason)]
    patterns = block["host"]
    aliases = [pattern for pattern in patterns if not any(character in pattern for character in PATTERN_CHARACTERS)]
    if not aliases:
        reason = _(
            "Host %(patterns)s is a pattern: it gives settings to the hosts it matches (applied to those in this "
            "file), it is not a VM."
        ) % {"patterns": " ".join(patterns)}
        return [RawRow(number=number, skipped=reason)]
    rows: dict[tuple, RawRow] = {}
    for alias in aliases:
        row = _row(config, number, alias, block, host_blocks)
        address = (row.cells["host"], row.cells.get("port"), row.cells.get("username"))
        if address in rows:
            # `Host db db.lab` with one HostName: two names for one VM, not two VMs.
            rows[address].notes.append(_("Also named %(alias)s in this file.") % {"alias": alias})
        else:
            rows[address] = row
    return list(rows.values())


def _row(config: SSHConfig, number: int, alias: str, block: dict, host_blocks: list[dict]) -> RawRow:
    options: dict[str, object] = {}
    for candidate in host_blocks:
        if config._pattern_matches(candidate["host"], alias):  # fnmatch with !negation, as lookup() matches
            for key, value in candidate["config"].items():
                options.setdefault(key, value)
    cells = {"name": alias, "host": _hostname(str(options.get("hostname") or alias), alias)}
    if options.get("port"):
        cells["port"] = options["port"]
    row = RawRow(number=number, cells=cells)
    if options.get("user"):
        cells["username"] = options["user"]
    else:
        row.notes.append(_("No User line applies to this host: add one (or a default under Host *)."))
    for path in options.get("identityfile") or ():
        row.notes.append(
            _(
                "IdentityFile %(path)s was not read: VM Lab never reads files an import names. Set the VM's SSH key "
                "on its page, or in an ssh_key column of a CSV, JSON or YAML file."
            )
            % {"path": path}
        )
    unused = sorted(set(block["config"]) - USED_KEYS)
    if unused:
        row.notes.append(_("Not used by VM Lab: %(keys)s.") % {"keys": ", ".join(unused)})
    return row


def _hostname(value: str, alias: str) -> str:
    """HostName with its tokens expanded: OpenSSH allows %h (the alias) and %% there."""
    return re.sub(r"%[%h]", lambda token: alias if token.group() == "%h" else "%", value)


# --- Writing ----------------------------------------------------------------------------------------------------------


def host_alias(vm) -> str:
    """A name for `Host` lines and file names: the VM's name as a slug, or vm-<pk> if nothing is left."""
    return slugify(vm.name) or f"vm-{vm.pk}"


def key_filename(vm) -> str:
    """<vm-name>_id, like ssh-keygen's id_<type>: the name with anything unsafe in a file name replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", vm.name).strip(".-")
    return f"{safe or f'vm-{vm.pk}'}_id"


def ssh_command(vm) -> str:
    """The command line that reaches `vm`, to copy from its page."""
    return f"ssh -p {vm.port} {vm.username}@{vm.host}"


def entry(vm, alias: str | None = None) -> str:
    """A ~/.ssh/config block for `vm` (loaded with has_ssh_key); IdentityFile names the file that revealing the key
    downloads."""
    lines = [
        f"Host {alias or host_alias(vm)}",
        f"    HostName {vm.host}",
        f"    Port {vm.port}",
        f"    User {vm.username}",
    ]
    if vm.has_ssh_key:
        lines += [f"    IdentityFile ~/.ssh/{key_filename(vm)}", "    IdentitiesOnly yes"]
    return "\n".join(lines) + "\n"


def render(vms) -> str:
    """Every VM as a Host entry under a comment with its name; aliases made unique, as OpenSSH would use only the
    first of two entries with one alias."""
    used: set[str] = set()
    parts = []
    for vm in vms:
        alias = base = host_alias(vm)
        suffix = 1
        while alias in used:
            suffix += 1
            alias = f"{base}-{suffix}"
        used.add(alias)
        parts.append(f"# {' '.join(vm.name.split())}\n{entry(vm, alias)}")
    return "\n".join(parts)
