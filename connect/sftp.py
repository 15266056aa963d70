"""Moving files to and from a VM over SFTP, with the VM's stored credentials and trusted host key.

The async functions open their own connection through connect.ssh.connect, so the host-key check and the
failure messages (ConnectError) are those of the terminal; what goes wrong after the login is a FileError.
The synchronous services that the views call (access, decryption, audit) are in connect.services.
"""

import asyncio
import posixpath
import secrets
import stat
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

import asyncssh
from django.conf import settings
from django.utils.translation import gettext as _

from connect.ssh import Target, connect
from vmlab.core.sizes import file_size

CHUNK_SIZE = 256 * 1024
# Downloads stay in memory up to this size, then spill to a temporary file on disk.
SPOOL_IN_MEMORY = 1024 * 1024

_KINDS = {
    asyncssh.FILEXFER_TYPE_REGULAR: "file",
    asyncssh.FILEXFER_TYPE_DIRECTORY: "dir",
    asyncssh.FILEXFER_TYPE_SYMLINK: "link",
}


class FileError(Exception):
    """An SFTP request the VM refused or could not carry out, with a message for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NoSuchFile(FileError):
    """The path does not exist: for an upload's target name, that is the good case."""


class UnusableDirectory(FileError):
    """The directory to list or to upload into does not exist, is no directory or cannot be read."""


class Unsupported(FileError):
    """The VM's SFTP server does not know this request (an extension such as posix-rename)."""


@dataclass(frozen=True)
class Entry:
    """One name in a directory. `target` is what a link points to ("dir", "file", "other"; "" if broken)."""

    name: str
    path: str
    kind: str  # "dir", "file", "link" or "other" (devices, sockets, pipes)
    size: int | None
    modified: datetime | None
    target: str = ""

    @property
    def opens_as_directory(self) -> bool:
        return self.kind == "dir" or (self.kind == "link" and self.target == "dir")

    @property
    def downloadable(self) -> bool:
        return self.kind == "file" or (self.kind == "link" and self.target == "file")


@dataclass(frozen=True)
class Listing:
    path: str  # absolute, symbolic links resolved
    entries: list[Entry]

    @property
    def parent(self) -> str:
        return posixpath.dirname(self.path)

    @property
    def breadcrumbs(self) -> list[tuple[str, str]]:
        """(label, absolute path) from "/" down to this directory."""
        crumbs = [("/", "/")]
        path = ""
        for part in filter(None, self.path.split("/")):
            path = f"{path}/{part}"
            crumbs.append((part, path))
        return crumbs


@dataclass
class Download:
    path: str
    name: str
    size: int
    file: tempfile.SpooledTemporaryFile  # at position 0; whoever sends it closes it


@dataclass(frozen=True)
class Uploaded:
    path: str
    size: int
    replaced: bool


def check_name(name: str) -> str:
    """`name` if it is a plain file name, to be created inside the chosen directory and nowhere else."""
    if not name or name in {".", ".."} or "/" in name or "\0" in name:
        raise FileError(
            _("“%(name)s” is not a valid file name: it must not be empty, “.”, “..” or hold a “/”.") % {"name": name}
        )
    return name


def too_large_message(name: str, size: int | None = None) -> str:
    """Says the limit; `size` is the file's size when known, else it is only known to be over the limit."""
    limit = file_size(settings.SFTP_MAX_FILE_SIZE)
    if size is None:
        return _("“%(name)s” is larger than %(limit)s, the most that can be transferred.") % {
            "name": name,
            "limit": limit,
        }
    message = _("“%(name)s” is %(size)s: files of at most %(limit)s can be transferred.")
    return message % {"name": name, "size": file_size(size), "limit": limit}


async def list_directory(target: Target, path: str = "") -> Listing:
    """The entries of directory `path` (relative ones start at the login directory, which "" is)."""
    async with _session(target) as sftp:
        absolute = await _directory(sftp, path)
        names = [item for item in await _call(sftp.readdir(absolute), absolute) if item.filename not in {".", ".."}]
        targets = await asyncio.gather(*(_link_target(sftp, absolute, item) for item in names))
        entries = [
            Entry(
                name=item.filename,
                path=posixpath.join(absolute, item.filename),
                kind=_KINDS.get(item.attrs.type, "other"),
                size=item.attrs.size,
                modified=datetime.fromtimestamp(item.attrs.mtime, UTC) if item.attrs.mtime is not None else None,
                target=link_target,
            )
            for item, link_target in zip(names, targets, strict=True)
        ]
    entries.sort(key=lambda entry: (not entry.opens_as_directory, entry.name.casefold(), entry.name))
    return Listing(absolute, entries)


async def download(target: Target, path: str) -> Download:
    """The file at `path` in a temporary file: refused for directories and for more than SFTP_MAX_FILE_SIZE."""
    if not path:
        raise FileError(_("Choose a file to download."))
    limit = settings.SFTP_MAX_FILE_SIZE
    async with _session(target) as sftp:
        if not path.startswith("/"):
            path = posixpath.join(await _call(sftp.realpath("."), "."), path)
        absolute = posixpath.normpath(path)
        name = posixpath.basename(absolute)
        attrs = await _call(sftp.stat(absolute), absolute)
        if attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY:
            raise FileError(_("“%(path)s” is a directory: only files can be downloaded.") % {"path": absolute})
        if attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
            raise FileError(_("“%(path)s” is not a regular file: it cannot be downloaded.") % {"path": absolute})
        if attrs.size is not None and attrs.size > limit:
            raise FileError(too_large_message(name, attrs.size))
        # Closed by whoever sends it (FileResponse does), or here if the transfer fails.
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            remote = await _call(sftp.open(absolute, "rb"), absolute)
            size = 0
            # The file may grow after the stat: count what actually arrives.
            while chunk := await _call(remote.read(CHUNK_SIZE), absolute):
                size += len(chunk)
                if size > limit:
                    raise FileError(too_large_message(name))
                spool.write(chunk)
            await _call(remote.close(), absolute)
        except BaseException:
            spool.close()
            raise
    spool.seek(0)
    return Download(absolute, name, size, spool)


async def upload(target: Target, directory: str, name: str, source: BinaryIO, *, overwrite: bool = False) -> Uploaded:
    """Write `source` to directory/name. An existing file is replaced only if asked.

    A transfer that fails half-way leaves no truncated file under the name, and a file it was to replace as it
    was: a replacement is written under a temporary name and renamed over the file only once complete.
    """
    check_name(name)
    limit = settings.SFTP_MAX_FILE_SIZE
    async with _session(target) as sftp:
        absolute_directory = await _directory(sftp, directory)
        path = posixpath.join(absolute_directory, name)
        existing = await _existing(sftp, path)
        if existing is not None and existing.type == asyncssh.FILEXFER_TYPE_DIRECTORY:
            raise FileError(_("“%(path)s” is a directory: a file cannot replace it.") % {"path": path})
        if existing is not None and not overwrite:
            message = _(
                "“%(name)s” already exists in %(directory)s: nothing was uploaded. Tick “Replace” to overwrite it."
            )
            raise FileError(message % {"name": name, "directory": absolute_directory})
        # A new file is created under its name, exclusively ("x" also refuses a file that appeared since the
        # check above), so whatever is there on failure is this upload's; a replacement goes to a name of its own.
        written = path if not overwrite else posixpath.join(absolute_directory, _temporary_name())
        remote = await _call(sftp.open(written, "xb"), written)
        size = 0
        try:
            while chunk := source.read(CHUNK_SIZE):
                size += len(chunk)
                if size > limit:
                    raise FileError(too_large_message(name))
                await _call(remote.write(chunk), path)
            await _call(remote.close(), path)
        except FileError as error:
            await _remove_quietly(sftp, written)
            said = [error.message, _("The incomplete file was removed.")]
            if existing is not None:
                said.append(_("“%(name)s” was left as it was.") % {"name": name})
            raise FileError(" ".join(said)) from None
        except BaseException:
            await _remove_quietly(sftp, written)
            raise
        if written != path:
            try:
                if existing is not None and existing.type == asyncssh.FILEXFER_TYPE_REGULAR and existing.permissions:
                    # The replacement keeps the mode of the file it replaces (an executable stays one); a replaced
                    # link's own mode (lstat's 0777) is no file's.
                    await _call(sftp.chmod(written, stat.S_IMODE(existing.permissions)), path)
                await _rename_over(sftp, written, path)
            except BaseException:
                await _remove_quietly(sftp, written)
                raise
    return Uploaded(path, size, replaced=existing is not None)


def _temporary_name() -> str:
    """Hidden, unique, and short whatever the file's own name, so it fits in the server's name length limit."""
    return f".vmlab-upload-{secrets.token_hex(8)}.part"


async def _rename_over(sftp: asyncssh.SFTPClient, source: str, path: str) -> None:
    """Move `source` to `path`, replacing the file there in one step where the server has OpenSSH's
    posix-rename extension. Elsewhere (plain SFTP rename will not overwrite) the old file is first moved
    aside, and moved back if the new one cannot take its place: some file is always at `path`."""
    try:
        await _call(sftp.posix_rename(source, path), path)
        return
    except Unsupported:
        pass
    aside = posixpath.join(posixpath.dirname(path), _temporary_name())
    try:
        await _call(sftp.rename(path, aside), path)
    except NoSuchFile:
        aside = ""  # removed in the meantime: nothing to keep
    try:
        await _call(sftp.rename(source, path), path)
    except BaseException:
        if aside:
            with suppress(FileError):
                await _call(sftp.rename(aside, path), path)
        raise
    if aside:
        await _remove_quietly(sftp, aside)


@asynccontextmanager
async def _session(target: Target) -> AsyncIterator[asyncssh.SFTPClient]:
    """An SFTP client on a new connection; ConnectError if the connection fails, FileError if SFTP does."""
    async with await connect(target, timeout=settings.SSH_CONNECT_TIMEOUT) as connection:
        try:
            async with asyncio.timeout(settings.SSH_CONNECT_TIMEOUT):
                # Names that are not UTF-8 show with a replacement character instead of failing the listing.
                sftp = await connection.start_sftp_client(path_errors="replace")
        except TimeoutError:
            raise _no_answer() from None
        except (asyncssh.Error, ConnectionError) as error:
            message = _("The VM does not offer SFTP (its SSH server may have no sftp subsystem): %(reason)s")
            raise FileError(message % {"reason": _reason(error)}) from None
        async with sftp:
            yield sftp


async def _directory(sftp: asyncssh.SFTPClient, path: str) -> str:
    """The absolute path of directory `path` ("" is the login directory); UnusableDirectory if it is not one."""
    try:
        absolute = await _call(sftp.realpath(path or "."), path or ".")
        attrs = await _call(sftp.stat(absolute), absolute)
    except FileError as error:
        raise UnusableDirectory(error.message) from None
    if attrs.type != asyncssh.FILEXFER_TYPE_DIRECTORY:
        raise UnusableDirectory(_not_a_directory(absolute))
    return absolute


async def _call(awaitable, path: str):
    """Await one SFTP request: a server that stops answering, or an SFTP error, becomes a FileError."""
    try:
        async with asyncio.timeout(settings.SSH_CONNECT_TIMEOUT):
            return await awaitable
    except TimeoutError:
        raise _no_answer() from None
    except asyncssh.SFTPError as error:
        raise sftp_error(error, path) from None
    except (asyncssh.Error, ConnectionError) as error:
        raise _connection_lost(_reason(error)) from None


def _connection_lost(reason: str) -> FileError:
    return FileError(_("The connection to the VM was lost: %(reason)s") % {"reason": reason})


def _not_a_directory(path: str) -> str:
    return _("“%(path)s” is not a directory.") % {"path": path}


def _no_answer() -> FileError:
    message = _("The VM stopped answering: nothing came within %(seconds)g s.")
    return FileError(message % {"seconds": settings.SSH_CONNECT_TIMEOUT})


def _reason(error: Exception) -> str:
    return getattr(error, "reason", "") or str(error) or error.__class__.__name__


def sftp_error(error: asyncssh.SFTPError, path: str) -> FileError:
    """What an SFTP status means for the user, naming the path it concerns."""
    where = {"path": path, "reason": error.reason}
    if isinstance(error, asyncssh.SFTPNoSuchFile | asyncssh.SFTPNoSuchPath):
        return NoSuchFile(_("“%(path)s” does not exist on the VM.") % where)
    if isinstance(error, asyncssh.SFTPPermissionDenied | asyncssh.SFTPWriteProtect):
        return FileError(_("Permission denied on the VM for “%(path)s”.") % where)
    if isinstance(error, asyncssh.SFTPNotADirectory):
        return FileError(_not_a_directory(path))
    if isinstance(error, asyncssh.SFTPFileIsADirectory):
        return FileError(_("“%(path)s” is a directory.") % where)
    if isinstance(error, asyncssh.SFTPNoSpaceOnFilesystem | asyncssh.SFTPQuotaExceeded):
        return FileError(_("No space left on the VM for “%(path)s”.") % where)
    if isinstance(error, asyncssh.SFTPConnectionLost | asyncssh.SFTPNoConnection):
        return _connection_lost(error.reason)
    if isinstance(error, asyncssh.SFTPOpUnsupported):
        return Unsupported(_("The VM's SFTP server cannot do this with “%(path)s”: %(reason)s") % where)
    return FileError(_("The VM could not do this with “%(path)s”: %(reason)s") % where)


async def _link_target(sftp: asyncssh.SFTPClient, directory: str, item: asyncssh.SFTPName) -> str:
    if item.attrs.type != asyncssh.FILEXFER_TYPE_SYMLINK:
        return ""
    try:
        attrs = await _call(sftp.stat(posixpath.join(directory, item.filename)), item.filename)
    except FileError:
        return ""  # a broken link, or one into a directory the user may not read
    return _KINDS.get(attrs.type, "other")


async def _existing(sftp: asyncssh.SFTPClient, path: str) -> asyncssh.SFTPAttrs | None:
    try:
        return await _call(sftp.lstat(path), path)
    except NoSuchFile:
        return None


async def _remove_quietly(sftp: asyncssh.SFTPClient, path: str) -> None:
    try:
        async with asyncio.timeout(settings.SSH_CONNECT_TIMEOUT):
            await sftp.remove(path)
    except (TimeoutError, asyncssh.Error, ConnectionError):
        pass  # the connection is gone: the error being raised already says the upload failed
