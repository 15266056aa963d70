"""The file pages against the real test SSH server: listing, download, upload, their limits and who may use them."""

import io
import os
import uuid
from pathlib import Path
from urllib.parse import quote

import asyncssh
import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import encode_multipart
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from connect import sftp
from connect.targets import target_for
from machines.models import VirtualMachine
from vmlab.core.sizes import file_size

MiB = 1024 * 1024


@pytest.fixture
def workdir(ssh_server) -> Path:
    """A fresh directory of the test server, to itself: the server lives for the whole session."""
    directory = ssh_server.root / f"t-{uuid.uuid4().hex[:12]}"
    directory.mkdir()
    return directory


def remote(directory: Path, *names: str) -> str:
    """The path of `directory` (under the server's root) as the VM sees it."""
    return "/" + "/".join((directory.name, *names))


@pytest.fixture
def owner_client(client, vm_owner):
    client.force_login(vm_owner)
    return client


def files_url(vm, path=None) -> str:
    url = reverse("connect:files", args=[vm.pk])
    return f"{url}?path={quote(path)}" if path is not None else url


def download_url(vm, path: str) -> str:
    return f"{reverse('connect:file_download', args=[vm.pk])}?path={quote(path)}"


def upload(client, vm, directory: str, name: str, content: bytes, *, overwrite=False, follow=True):
    data = {"file": SimpleUploadedFile(name, content), "directory": directory}
    if overwrite:
        data["overwrite"] = "on"
    return client.post(reverse("connect:file_upload", args=[vm.pk]), data, follow=follow)


def raw_upload(client, vm, directory: str, filename: str, content: bytes):
    """A multipart post with `filename` as sent, which test clients would reduce to its base name first."""
    boundary = "vmlab-test-boundary"
    body = encode_multipart(boundary, {"directory": directory})[: -len(f"--{boundary}--\r\n")]
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body += content + f"\r\n--{boundary}--\r\n".encode()
    url = reverse("connect:file_upload", args=[vm.pk])
    return client.post(url, body, content_type=f"multipart/form-data; boundary={boundary}", follow=True)


def every_byte_value(size: int) -> bytes:
    """`size` random bytes in which each of the 256 values occurs."""
    return bytes(range(256)) + os.urandom(size - 256)


def texts(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# Listing


def test_the_listing_shows_directories_first_with_sizes_and_links(owner_client, password_vm, workdir):
    (workdir / "zeta").mkdir()
    (workdir / "Alpha.txt").write_bytes(b"a" * 1234)
    (workdir / "beta.bin").write_bytes(b"")
    os.symlink("zeta", workdir / "to-zeta")
    os.symlink("missing", workdir / "dangling")

    response = owner_client.get(files_url(password_vm, remote(workdir)))

    assert response.status_code == 200
    listing = response.context["listing"]
    assert listing.path == remote(workdir)
    assert [entry.name for entry in listing.entries] == ["to-zeta", "zeta", "Alpha.txt", "beta.bin", "dangling"]
    page = response.text
    assert "1.2\xa0KiB" in page
    assert f'href="{files_url(password_vm, remote(workdir, "zeta"))}"' in page
    assert f'href="{files_url(password_vm, remote(workdir, "to-zeta"))}"' in page
    assert f'href="{download_url(password_vm, remote(workdir, "Alpha.txt"))}"' in page
    assert download_url(password_vm, remote(workdir, "dangling")) not in page
    assert "broken link" in page
    assert f'href="{files_url(password_vm, "/")}">..</a>' in page  # the parent of /t-… is the root


def test_the_breadcrumbs_link_every_directory_of_the_path(owner_client, password_vm, workdir):
    (workdir / "a" / "b").mkdir(parents=True)

    page = owner_client.get(files_url(password_vm, remote(workdir, "a", "b"))).text

    for path in ["/", remote(workdir), remote(workdir, "a"), remote(workdir, "a", "b")]:
        assert f'href="{files_url(password_vm, path)}"' in page


def test_without_a_path_the_login_directory_is_listed(owner_client, password_vm, workdir):
    response = owner_client.get(files_url(password_vm))

    assert response.context["listing"].path == "/"  # the test server's SFTP root is the login directory
    assert workdir.name in response.text
    assert 'name="directory" value="/"' in response.text


def test_a_relative_path_starts_at_the_login_directory(owner_client, password_vm, workdir):
    (workdir / "inner").mkdir()

    response = owner_client.get(files_url(password_vm, f"{workdir.name}/inner/../inner"))

    assert response.context["listing"].path == remote(workdir, "inner")


def test_a_missing_directory_shows_a_message_and_no_listing(owner_client, password_vm, workdir):
    response = owner_client.get(files_url(password_vm, remote(workdir, "nothing-here")))

    assert response.status_code == 200
    assert "listing" not in response.context
    assert f"“{remote(workdir, 'nothing-here')}” does not exist on the VM." in response.text
    assert f'href="{files_url(password_vm)}"' in response.text


def test_a_file_is_not_listed_as_a_directory(owner_client, password_vm, workdir):
    (workdir / "plain.txt").write_text("x")

    response = owner_client.get(files_url(password_vm, remote(workdir, "plain.txt")))

    assert f"“{remote(workdir, 'plain.txt')}” is not a directory." in response.text


def test_an_unreachable_vm_shows_why_and_leads_to_the_connection_test(owner_client, vm_on_server, closed_port):
    vm = vm_on_server(port=closed_port, password="pw")

    response = owner_client.get(files_url(vm))

    assert "refused the connection" in response.text
    assert "listing" not in response.context
    assert_leads_to_the_connection_test(response, vm)


def assert_leads_to_the_connection_test(response, vm):
    """A connection that fails is no matter of paths: the page offers to test it, not the login directory."""
    text = response.text
    assert f'<form method="post" action="{reverse("connect:test_connection", args=[vm.pk])}"' in text
    assert f'<a class="btn btn-plain" href="{reverse("machines:detail", args=[vm.pk])}">VM page</a>' in text
    assert "Go to the login directory" not in text


def test_the_upload_form_says_the_size_limit_in_mib_as_the_readme_does(owner_client, password_vm, settings):
    settings.SFTP_MAX_FILE_SIZE = 5 * MiB

    assert "At most 5\xa0MiB per file." in owner_client.get(files_url(password_vm)).text


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0\xa0bytes"),
        (1, "1\xa0byte"),
        (1023, "1023\xa0bytes"),
        (1024, "1\xa0KiB"),
        (1234, "1.2\xa0KiB"),
        (100 * MiB, "100\xa0MiB"),
        (100 * MiB + 64 * 1024, "100\xa0MiB"),  # a limit is never shown larger than it is
        (3 * MiB // 2, "1.5\xa0MiB"),
        (5 * 1024 * MiB, "5\xa0GiB"),
        (None, ""),  # a size the server did not say
    ],
)
def test_sizes_are_shown_in_binary_units(size, shown):
    assert file_size(size) == shown


# Round trip


def test_an_uploaded_file_downloads_byte_for_byte(owner_client, password_vm, workdir):
    content = every_byte_value(300 * 1024)

    uploaded = upload(owner_client, password_vm, remote(workdir), "data.bin", content)

    assert uploaded.redirect_chain[-1][0] == files_url(password_vm, remote(workdir))
    assert f"“data.bin” (300\xa0KiB) was uploaded to {remote(workdir)}." in texts(uploaded)
    assert (workdir / "data.bin").read_bytes() == content
    downloaded = owner_client.get(download_url(password_vm, remote(workdir, "data.bin")))
    assert downloaded.status_code == 200
    assert b"".join(downloaded.streaming_content) == content
    assert downloaded.headers["Content-Type"] == "application/octet-stream"
    assert downloaded.headers["Content-Disposition"] == 'attachment; filename="data.bin"'
    assert downloaded.headers["Content-Length"] == str(len(content))
    assert downloaded.headers["X-Content-Type-Options"] == "nosniff"


def test_a_download_with_an_awkward_name_is_quoted_safely(owner_client, password_vm, workdir):
    name = 'a "quoted"; name=x\\ é.txt'
    (workdir / name).write_bytes(b"odd")

    response = owner_client.get(download_url(password_vm, remote(workdir, name)))

    assert b"".join(response.streaming_content) == b"odd"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename*=utf-8''a%20%22quoted%22%3B%20name%3Dx%5C%20%C3%A9.txt"
    )


@pytest.mark.parametrize("name", ["report\n", "tab\there.txt", "bell\x07", "line\r\nbreak.txt"])
def test_a_file_name_with_control_characters_downloads_under_a_cleaned_name(owner_client, password_vm, workdir, name):
    (workdir / name).write_bytes(b"odd name")

    response = owner_client.get(download_url(password_vm, remote(workdir, name)))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"odd name"
    cleaned = name.translate({0x0A: "_", 0x09: "_", 0x07: "_", 0x0D: "_"})
    assert response.headers["Content-Disposition"] == f'attachment; filename="{cleaned}"'


def test_an_existing_file_is_kept_unless_overwrite_is_asked(owner_client, password_vm, workdir):
    (workdir / "notes.txt").write_bytes(b"old")

    refused = upload(owner_client, password_vm, remote(workdir), "notes.txt", b"new")

    assert (workdir / "notes.txt").read_bytes() == b"old"
    assert f"“notes.txt” already exists in {remote(workdir)}: nothing was uploaded." in texts(refused)[0]
    replaced = upload(owner_client, password_vm, remote(workdir), "notes.txt", b"new", overwrite=True)
    assert (workdir / "notes.txt").read_bytes() == b"new"
    assert "replacing the file of that name" in texts(replaced)[0]


def test_a_directory_is_never_replaced_by_a_file(owner_client, password_vm, workdir):
    (workdir / "folder").mkdir()

    response = upload(owner_client, password_vm, remote(workdir), "folder", b"x", overwrite=True)

    assert (workdir / "folder").is_dir()
    assert f"“{remote(workdir, 'folder')}” is a directory: a file cannot replace it." in texts(response)


def test_an_empty_file_can_be_uploaded(owner_client, password_vm, workdir):
    upload(owner_client, password_vm, remote(workdir), "empty", b"")

    assert (workdir / "empty").read_bytes() == b""


# Limits


def test_an_upload_over_the_size_limit_is_refused_and_nothing_is_written(owner_client, password_vm, workdir, settings):
    settings.SFTP_MAX_FILE_SIZE = 1000

    response = upload(owner_client, password_vm, remote(workdir), "big.bin", b"x" * 1001)

    assert texts(response) == [
        "“big.bin” is 1001\xa0bytes: files of at most 1000\xa0bytes can be transferred. Nothing was uploaded."
    ]
    assert list(workdir.iterdir()) == []
    assert not AuditEvent.objects.filter(action=Action.VM_FILE_UPLOAD).exists()


def test_an_upload_at_the_size_limit_is_accepted(owner_client, password_vm, workdir, settings):
    settings.SFTP_MAX_FILE_SIZE = 1000

    upload(owner_client, password_vm, remote(workdir), "fits.bin", b"x" * 1000)

    assert (workdir / "fits.bin").stat().st_size == 1000


def test_a_stream_that_turns_out_too_large_leaves_no_half_file(password_vm, workdir, settings):
    settings.SFTP_MAX_FILE_SIZE = 1000
    source = io.BytesIO(b"x" * 300_000)  # larger than it said: the limit is checked while writing too

    with pytest.raises(sftp.FileError) as caught:
        async_to_sync(sftp.upload)(target_for(password_vm), remote(workdir), "grown.bin", source)

    assert "is larger than 1000\xa0bytes" in caught.value.message
    assert "The incomplete file was removed." in caught.value.message
    assert list(workdir.iterdir()) == []


def test_a_replacement_that_fails_part_way_leaves_the_original_file_as_it_was(password_vm, workdir, settings):
    settings.SFTP_MAX_FILE_SIZE = 1000
    (workdir / "keep.txt").write_bytes(b"the original bytes")
    source = io.BytesIO(b"x" * 300_000)  # over the limit only once some of it was written

    with pytest.raises(sftp.FileError) as caught:
        async_to_sync(sftp.upload)(target_for(password_vm), remote(workdir), "keep.txt", source, overwrite=True)

    assert "“keep.txt” was left as it was." in caught.value.message
    assert (workdir / "keep.txt").read_bytes() == b"the original bytes"
    assert [path.name for path in workdir.iterdir()] == ["keep.txt"]  # no temporary file left behind


def test_a_replacement_keeps_the_mode_of_the_file_it_replaces(password_vm, workdir):
    script = workdir / "run.sh"
    script.write_bytes(b"old")
    script.chmod(0o750)

    async_to_sync(sftp.upload)(target_for(password_vm), remote(workdir), "run.sh", io.BytesIO(b"new"), overwrite=True)

    assert script.read_bytes() == b"new"
    assert script.stat().st_mode & 0o7777 == 0o750
    assert [path.name for path in workdir.iterdir()] == ["run.sh"]


def test_a_server_without_posix_rename_still_gets_the_file_replaced(password_vm, workdir, monkeypatch):
    async def unsupported(self, oldpath, newpath):
        raise asyncssh.SFTPOpUnsupported("POSIX rename not supported")

    monkeypatch.setattr(asyncssh.SFTPClient, "posix_rename", unsupported)
    (workdir / "notes.txt").write_bytes(b"old")

    result = async_to_sync(sftp.upload)(
        target_for(password_vm), remote(workdir), "notes.txt", io.BytesIO(b"new"), overwrite=True
    )

    assert result.replaced
    assert (workdir / "notes.txt").read_bytes() == b"new"
    assert [path.name for path in workdir.iterdir()] == ["notes.txt"]


def test_without_posix_rename_a_failed_replace_puts_the_original_back(password_vm, workdir, monkeypatch):
    async def unsupported(self, oldpath, newpath):
        raise asyncssh.SFTPOpUnsupported("POSIX rename not supported")

    real_rename = asyncssh.SFTPClient.rename

    async def refuse_the_new_file(self, oldpath, newpath, *args, **kwargs):
        moving_the_upload_in = (workdir / Path(str(oldpath)).name).read_bytes() == b"new"
        if moving_the_upload_in and str(newpath).endswith("/notes.txt"):
            raise asyncssh.SFTPPermissionDenied("not allowed")
        return await real_rename(self, oldpath, newpath, *args, **kwargs)

    monkeypatch.setattr(asyncssh.SFTPClient, "posix_rename", unsupported)
    monkeypatch.setattr(asyncssh.SFTPClient, "rename", refuse_the_new_file)
    (workdir / "notes.txt").write_bytes(b"old")

    with pytest.raises(sftp.FileError):
        async_to_sync(sftp.upload)(
            target_for(password_vm), remote(workdir), "notes.txt", io.BytesIO(b"new"), overwrite=True
        )

    assert (workdir / "notes.txt").read_bytes() == b"old"
    assert [path.name for path in workdir.iterdir()] == ["notes.txt"]


def test_a_download_over_the_size_limit_is_refused(owner_client, password_vm, workdir, settings):
    settings.SFTP_MAX_FILE_SIZE = 1000
    (workdir / "big.bin").write_bytes(b"x" * 1001)

    response = owner_client.get(download_url(password_vm, remote(workdir, "big.bin")), follow=True)

    assert response.redirect_chain[-1][0] == files_url(password_vm, remote(workdir))
    assert texts(response) == ["“big.bin” is 1001\xa0bytes: files of at most 1000\xa0bytes can be transferred."]
    assert not AuditEvent.objects.filter(action=Action.VM_FILE_DOWNLOAD).exists()


def test_a_download_is_also_limited_while_reading(owner_client, password_vm, workdir, settings):
    # Files in /proc say they are empty and are not: only counting the bytes that arrive catches them.
    settings.SFTP_MAX_FILE_SIZE = 100
    os.symlink("/proc/self/status", workdir / "status")

    response = owner_client.get(download_url(password_vm, remote(workdir, "status")), follow=True)

    assert texts(response) == ["“status” is larger than 100\xa0bytes, the most that can be transferred."]


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../escape", "nul\0byte"])
def test_a_name_that_is_not_a_plain_file_name_is_refused(password_vm, workdir, name):
    with pytest.raises(sftp.FileError, match="is not a valid file name"):
        async_to_sync(sftp.upload)(target_for(password_vm), remote(workdir), name, io.BytesIO(b"x"))

    assert list(workdir.iterdir()) == []
    assert not (workdir.parent / "escape").exists()


def test_an_uploaded_path_lands_in_the_directory_under_its_base_name(owner_client, password_vm, workdir):
    (workdir / "inner").mkdir()

    raw_upload(owner_client, password_vm, remote(workdir, "inner"), "../escape.txt", b"x")

    assert (workdir / "inner" / "escape.txt").read_bytes() == b"x"
    assert not (workdir / "escape.txt").exists()


def test_an_upload_without_a_usable_file_asks_for_one(owner_client, password_vm, workdir):
    response = raw_upload(owner_client, password_vm, remote(workdir), "..", b"x")

    assert texts(response) == ["Choose a file."]
    assert list(workdir.iterdir()) == []


# Errors


def test_downloading_a_directory_is_refused(owner_client, password_vm, workdir):
    (workdir / "folder").mkdir()

    response = owner_client.get(download_url(password_vm, remote(workdir, "folder")), follow=True)

    assert texts(response) == [f"“{remote(workdir, 'folder')}” is a directory: only files can be downloaded."]
    assert response.redirect_chain[-1][0] == files_url(password_vm, remote(workdir))


def test_downloading_a_missing_file_says_so(owner_client, password_vm, workdir):
    response = owner_client.get(download_url(password_vm, remote(workdir, "gone.txt")), follow=True)

    assert texts(response) == [f"“{remote(workdir, 'gone.txt')}” does not exist on the VM."]


def test_uploading_into_a_missing_directory_says_so_once(owner_client, password_vm, workdir):
    response = upload(owner_client, password_vm, remote(workdir, "nowhere"), "a.txt", b"x")

    message = f"“{remote(workdir, 'nowhere')}” does not exist on the VM."
    assert texts(response) == [message]
    assert response.text.count(message) == 1
    assert response.redirect_chain[-1][0] == files_url(password_vm)  # the login directory, which can be listed
    assert response.context["listing"].path == "/"
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (asyncssh.SFTPPermissionDenied("Permission denied"), "Permission denied on the VM for “/x”."),
        (asyncssh.SFTPNoSuchFile("No such file"), "“/x” does not exist on the VM."),
        (asyncssh.SFTPNotADirectory("Not a directory"), "“/x” is not a directory."),
        (asyncssh.SFTPNoSpaceOnFilesystem("Disk full"), "No space left on the VM for “/x”."),
        (asyncssh.SFTPFailure("Something odd"), "The VM could not do this with “/x”: Something odd"),
    ],
)
def test_sftp_errors_become_messages_that_name_the_path(error, message):
    # Tests run as root here, so the server itself cannot be made to deny a permission.
    assert sftp.sftp_error(error, "/x").message == message


# Each transfer is a connection


@pytest.mark.parametrize("action", ["list", "download", "upload"])
def test_every_transfer_counts_towards_the_connection_limit(owner_client, password_vm, workdir, settings, action):
    settings.SSH_CONNECT_RATE_LIMIT = 1
    (workdir / "a.txt").write_bytes(b"a")
    assert owner_client.get(files_url(password_vm, remote(workdir))).status_code == 200

    if action == "list":
        response = owner_client.get(files_url(password_vm, remote(workdir)))
    elif action == "download":
        response = owner_client.get(download_url(password_vm, remote(workdir, "a.txt")))
    else:
        response = upload(owner_client, password_vm, remote(workdir), "b.txt", b"b")

    assert response.status_code == 429
    message = "Too many connections to VMs (at most 1 a minute): wait a minute and try again."
    assert response.text.count(message) == 1
    assert f'<a href="{files_url(password_vm, remote(workdir))}">Try again</a>' in response.text
    assert "listing" not in response.context
    assert not (workdir / "b.txt").exists()
    assert not AuditEvent.objects.filter(action__in=[Action.VM_FILE_UPLOAD, Action.VM_FILE_DOWNLOAD]).exists()


# Who may use it


@pytest.mark.parametrize("name", ["connect:files", "connect:file_download", "connect:file_upload"])
def test_users_who_may_not_see_the_vm_get_404(client, password_vm, name):
    client.force_login(UserFactory(role=Role.SIDEKICK))
    url = reverse(name, args=[password_vm.pk])

    response = client.post(url, {"directory": "/"}) if name == "connect:file_upload" else client.get(url)

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["connect:files", "connect:file_download", "connect:file_upload"])
def test_forged_ids_get_404(owner_client, password_vm, name):
    url = reverse(name, args=[password_vm.pk + 1000])

    response = owner_client.post(url, {"directory": "/"}) if name == "connect:file_upload" else owner_client.get(url)

    assert response.status_code == 404


def test_an_assigned_regular_user_may_list_upload_and_download(client, password_vm, workdir):
    regular = UserFactory(role=Role.REGULAR)
    VirtualMachine.objects.filter(pk=password_vm.pk).update(assigned_to=regular)
    client.force_login(regular)

    upload(client, password_vm, remote(workdir), "mine.txt", b"hello")

    assert "mine.txt" in client.get(files_url(password_vm, remote(workdir))).text
    downloaded = client.get(download_url(password_vm, remote(workdir, "mine.txt")))
    assert b"".join(downloaded.streaming_content) == b"hello"


def test_the_upload_needs_its_csrf_token(vm_owner, password_vm, workdir):
    client = Client(enforce_csrf_checks=True)
    client.force_login(vm_owner)

    response = upload(client, password_vm, remote(workdir), "a.txt", b"x", follow=False)

    assert response.status_code == 403
    assert list(workdir.iterdir()) == []


def test_an_unconfirmed_host_key_lists_nothing_and_points_to_where_to_confirm_it(owner_client, new_vm):
    response = owner_client.get(files_url(new_vm))

    assert "listing" not in response.context
    assert "The host key of this VM has not been confirmed yet" in response.text
    assert '<div class="alert alert-warning" role="alert">' in response.text  # to confirm, not a failure
    assert f'action="{reverse("connect:test_connection", args=[new_vm.pk])}"' in response.text
    assert f'href="{reverse("connect:terminal", args=[new_vm.pk])}"' in response.text
    new_vm.refresh_from_db()
    assert new_vm.host_key == ""
    assert new_vm.host_key_fingerprint == ""


def test_an_unconfirmed_host_key_uploads_and_downloads_nothing(owner_client, new_vm, workdir):
    (workdir / "a.txt").write_bytes(b"a")

    uploaded = upload(owner_client, new_vm, remote(workdir), "b.txt", b"b")
    downloaded = owner_client.get(download_url(new_vm, remote(workdir, "a.txt")))

    for response in (uploaded, downloaded):
        assert "The host key of this VM has not been confirmed yet" in response.text
        assert_leads_to_the_connection_test(response, new_vm)
    assert not (workdir / "b.txt").exists()
    new_vm.refresh_from_db()
    assert new_vm.host_key == ""
    assert not AuditEvent.objects.filter(action__in=[Action.VM_FILE_UPLOAD, Action.VM_FILE_DOWNLOAD]).exists()


def test_a_refused_login_on_upload_or_download_is_said_once_with_the_connection_test(
    owner_client, vm_on_server, workdir
):
    vm = vm_on_server(password="not-the-password-7")
    (workdir / "a.txt").write_bytes(b"a")

    uploaded = upload(owner_client, vm, remote(workdir), "b.txt", b"b")
    downloaded = owner_client.get(download_url(vm, remote(workdir, "a.txt")), follow=True)

    for response in (uploaded, downloaded):
        assert response.text.count("The server refused the stored password for the user “alice”.") == 1
        assert_leads_to_the_connection_test(response, vm)
    assert not (workdir / "b.txt").exists()


def test_a_key_login_vm_works_too(owner_client, key_vm, workdir):
    upload(owner_client, key_vm, remote(workdir), "by-key.txt", b"bob was here")

    assert (workdir / "by-key.txt").read_bytes() == b"bob was here"
    assert "by-key.txt" in owner_client.get(files_url(key_vm, remote(workdir))).text


# Audit


def test_transfers_are_audited_with_path_and_size_but_not_content(owner_client, vm_owner, password_vm, workdir):
    content = b"top-secret-file-content-" * 10

    upload(owner_client, password_vm, remote(workdir), "audited.txt", content)
    b"".join(owner_client.get(download_url(password_vm, remote(workdir, "audited.txt"))).streaming_content)

    events = {event.action: event for event in AuditEvent.objects.filter(target_id=str(password_vm.pk))}
    path = remote(workdir, "audited.txt")
    for action in [Action.VM_FILE_UPLOAD, Action.VM_FILE_DOWNLOAD]:
        assert events[action].details == {"path": path, "size": len(content)}
        assert events[action].actor == vm_owner
    assert not AuditEvent.objects.filter(details__icontains="top-secret").exists()


# The request size limit of the upload


def test_an_upload_larger_than_other_forms_may_send_is_accepted(owner_client, password_vm, workdir, settings):
    settings.MAX_REQUEST_BODY = 1 * MiB
    settings.SFTP_MAX_FILE_SIZE = 2 * MiB
    content = every_byte_value(3 * MiB // 2)

    upload(owner_client, password_vm, remote(workdir), "large.bin", content)

    assert (workdir / "large.bin").read_bytes() == content
    downloaded = owner_client.get(download_url(password_vm, remote(workdir, "large.bin")))
    assert b"".join(downloaded.streaming_content) == content  # spooled to disk on the way: over 1 MiB


def test_an_upload_body_over_its_own_limit_is_refused_before_it_is_read(owner_client, password_vm, workdir, settings):
    settings.MAX_REQUEST_BODY = 1 * MiB
    settings.SFTP_MAX_FILE_SIZE = 2 * MiB

    response = upload(owner_client, password_vm, remote(workdir), "huge.bin", b"x" * (2 * MiB + 65 * 1024))

    assert response.status_code == 413
    assert "at most 2\xa0MiB" in response.text
    assert list(workdir.iterdir()) == []


def test_visitors_who_are_not_logged_in_keep_the_usual_limit(client, password_vm, workdir, settings):
    settings.MAX_REQUEST_BODY = 1 * MiB
    settings.SFTP_MAX_FILE_SIZE = 2 * MiB

    response = upload(client, password_vm, remote(workdir), "anon.bin", b"x" * (3 * MiB // 2), follow=False)

    assert response.status_code == 413
    assert "at most 1\xa0MiB" in response.text


def test_other_forms_keep_the_usual_limit_when_uploads_may_be_larger(owner_client, settings):
    settings.MAX_REQUEST_BODY = 1 * MiB
    settings.SFTP_MAX_FILE_SIZE = 2 * MiB
    upload = SimpleUploadedFile("id_ed25519", b"x" * (3 * MiB // 2))

    response = owner_client.post(reverse("machines:create"), {"name": "x", "ssh_key_file": upload})

    assert response.status_code == 413


@pytest.mark.parametrize("who", ["new user", "user who may not see the VM"])
def test_only_users_who_may_connect_to_the_vm_may_send_the_larger_body(client, password_vm, workdir, settings, who):
    settings.MAX_REQUEST_BODY = 1 * MiB
    settings.SFTP_MAX_FILE_SIZE = 2 * MiB
    client.force_login(UserFactory(role=Role.NEW_USER if who == "new user" else Role.SIDEKICK))

    response = upload(client, password_vm, remote(workdir), "big.bin", b"x" * (3 * MiB // 2), follow=False)

    assert response.status_code == 413
    assert "at most 1\xa0MiB" in response.text
    assert list(workdir.iterdir()) == []
