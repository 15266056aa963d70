"""The backup file: an uncompressed tar of manifest.json and the database dump, with its SHA-256 in a file beside it.

    vmlab_2026-12-03T171500.123Z_accounts0004-admin0003-audit0004-….tar
    vmlab_2026-12-03T171500.123Z_accounts0004-admin0003-audit0004-….tar.sha256   "<hex>  <name>", as sha256sum writes

The name gives the time (UTC) and, for each app, the number of its last applied migration. The manifest says what
the dump holds, counted in the same snapshot as the dump: the migrations applied, the rows per model, the secrets
(encrypted values, never decrypted) per model, and the fingerprints of the keys configured when it was made, so
that a restore under other keys can say which ones it needs. It never holds a key or a plaintext.
"""

import datetime
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import time
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

FORMAT = 1
MANIFEST = "manifest.json"
CHECKSUM_SUFFIX = ".sha256"
NAME_PATTERN = re.compile(r"^vmlab_(\d{4}-\d\d-\d\dT\d{6}\.\d{3}Z)_([\w-]+)\.tar$")
_PRIVATE = 0o600


class BackupError(Exception):
    """Anything that stops a backup or a restore, with a message written for the operator."""


@dataclass
class Manifest:
    engine: str
    dump: str
    created_at: str
    migrations: dict  # {app: [names of its applied migrations, sorted]}
    tables: list  # [{"model": "accounts.User", "table": "accounts_user", "rows": 12}, ...]
    secrets: dict  # {"machines.VirtualMachine": number of encrypted values stored}
    keys: list  # fingerprints of FIELD_ENCRYPTION_KEYS, first (encrypting) key first
    excluded: list = field(default_factory=list)  # tables whose rows are left out
    format: int = FORMAT

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                message = _("This backup is in format %(format)s; this VM Lab reads format %(known)d only.")
                raise BackupError(message % {"format": repr(data.get("format")), "known": FORMAT})
            return cls(**data)
        except (ValueError, TypeError, AttributeError) as error:
            message = _("This is not a VM Lab backup: its %(manifest)s cannot be read (%(error)s).")
            raise BackupError(message % {"manifest": MANIFEST, "error": error}) from None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @property
    def applied(self) -> set:
        return {(app, name) for app, names in self.migrations.items() for name in names}

    def schema_tag(self) -> str:
        """'accounts0004-admin0003-…': each app with the number of its last applied migration."""
        parts = []
        for app in sorted(self.migrations):
            last = max(self.migrations[app])
            number = last.split("_", 1)[0]
            parts.append(app + (number if number.isdigit() else last))
        return "-".join(parts) or "unmigrated"

    def describe_schema(self) -> str:
        return self.schema_tag().replace("-", " ")

    @property
    def rows(self) -> int:
        return sum(table["rows"] for table in self.tables)

    @property
    def secret_count(self) -> int:
        return sum(self.secrets.values())

    def created(self) -> str:
        moment = datetime.datetime.fromisoformat(self.created_at)
        return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def backup_name(manifest: Manifest) -> str:
    moment = datetime.datetime.fromisoformat(manifest.created_at)
    stamp = f"{moment:%Y-%m-%dT%H%M%S}.{moment.microsecond // 1000:03d}Z"
    return f"vmlab_{stamp}_{manifest.schema_tag()}.tar"


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + CHECKSUM_SUFFIX)


def sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _create_private(path: Path):
    """A new file only this user can read; never an existing one."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE), "wb")


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _tar_info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, _PRIVATE, int(time.time())
    return info


def write(directory: Path, manifest: Manifest, dump: Path) -> Path:
    """Write the backup and its checksum file into `directory`; neither appears under its name until complete."""
    final = directory / backup_name(manifest)
    if final.exists():
        raise BackupError(_("%(path)s already exists: it is left as it is.") % {"path": final})
    partial = directory / f".{final.name}.partial"
    try:
        with _create_private(partial) as handle:
            with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar:
                manifest_bytes = manifest.to_json().encode()
                tar.addfile(_tar_info(MANIFEST, len(manifest_bytes)), io.BytesIO(manifest_bytes))
                with open(dump, "rb") as dump_handle:
                    tar.addfile(_tar_info(manifest.dump, dump.stat().st_size), dump_handle)
            handle.flush()
            os.fsync(handle.fileno())
        digest = sha256_of(partial)
        os.replace(partial, final)
        _write_checksum(final, digest)
        _sync_directory(directory)
    except BaseException:
        with suppress(FileNotFoundError):
            partial.unlink()
        raise
    return final


def _write_checksum(path: Path, digest: str) -> None:
    target = checksum_path(path)
    partial = target.with_name(f".{target.name}.partial")
    with _create_private(partial) as handle:
        handle.write(f"{digest}  {path.name}\n".encode())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, target)


def verify_checksum(path: Path) -> str:
    """Check `path` against the SHA-256 in the file beside it; return the digest."""
    if not path.is_file():
        raise BackupError(_("%(path)s: no such file.") % {"path": path})
    sums = checksum_path(path)
    if not sums.is_file():
        message = _(
            "No checksum file beside the backup: %(name)s is missing. A backup is restored only when its "
            "SHA-256 can be checked: copy the .sha256 file that was written with it."
        )
        raise BackupError(message % {"name": sums.name})
    match = re.match(r"([0-9a-fA-F]{64})(\s|$)", sums.read_text(encoding="ascii", errors="replace"))
    if not match:
        message = _("%(sums)s holds no SHA-256: it should read '<64 hex digits>  %(name)s'.")
        raise BackupError(message % {"sums": sums.name, "name": path.name})
    expected, actual = match.group(1).lower(), sha256_of(path)
    if actual != expected:
        message = _(
            "SHA-256 mismatch: %(name)s hashes to %(actual)s…, but %(sums)s says %(expected)s…. "
            "The file is damaged, truncated or was changed since the backup was made."
        )
        raise BackupError(
            message % {"name": path.name, "actual": actual[:16], "sums": sums.name, "expected": expected[:16]}
        )
    return actual


class OpenBackup:
    def __init__(self, path: Path, tar: tarfile.TarFile, manifest: Manifest):
        self.path, self._tar, self.manifest = path, tar, manifest

    def extract_dump(self, destination: Path) -> None:
        """Copy the dump out of the archive into a new private file."""
        try:
            member = self._tar.getmember(self.manifest.dump)
            source = self._tar.extractfile(member) if member.isfile() else None
            if source is None:
                raise KeyError(self.manifest.dump)
            with source, _create_private(destination) as target:
                shutil.copyfileobj(source, target, length=1024 * 1024)
        except KeyError:
            message = _("%(name)s holds no %(dump)s: it is not a complete backup.")
            raise BackupError(message % {"name": self.path.name, "dump": self.manifest.dump}) from None
        except (tarfile.TarError, EOFError) as error:
            message = _("%(name)s is damaged: its database dump cannot be read (%(error)s).")
            raise BackupError(message % {"name": self.path.name, "error": error}) from None


@contextmanager
def open_backup(path: Path):
    try:
        tar = tarfile.open(path, "r:")  # noqa: SIM115 (closed by the with below, once the manifest is read)
    except (tarfile.TarError, EOFError) as error:
        message = _("%(name)s is not a VM Lab backup, or is damaged (%(error)s).")
        raise BackupError(message % {"name": path.name, "error": error}) from None
    with tar:
        try:
            source = tar.extractfile(tar.getmember(MANIFEST))
            text = source.read().decode()
        except (KeyError, AttributeError):
            message = _("%(name)s is not a VM Lab backup: it holds no %(manifest)s.")
            raise BackupError(message % {"name": path.name, "manifest": MANIFEST}) from None
        except (tarfile.TarError, EOFError, UnicodeDecodeError) as error:
            message = _("%(name)s is damaged: its %(manifest)s cannot be read (%(error)s).")
            raise BackupError(message % {"name": path.name, "manifest": MANIFEST, "error": error}) from None
        yield OpenBackup(path, tar, Manifest.from_json(text))


def backups_in(directory: Path) -> list[Path]:
    """VM Lab backups in `directory`, oldest first (by the time in their names)."""
    if not directory.is_dir():
        return []
    return sorted(
        (path for path in directory.iterdir() if NAME_PATTERN.match(path.name) and path.is_file()),
        key=lambda path: NAME_PATTERN.match(path.name).group(1),
    )


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest backups (each with its checksum file); return those deleted."""
    found = backups_in(directory)
    doomed = found[: max(0, len(found) - keep)]
    for path in doomed:
        path.unlink()
        with suppress(FileNotFoundError):
            checksum_path(path).unlink()
    return doomed
