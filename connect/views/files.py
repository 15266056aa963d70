"""Browsing a VM's files, downloading and uploading them over SFTP (connect.services does the work).

Each listing, download and upload opens a connection, so each counts against the user's connection limit.
A connection that fails (ConnectError) is shown on the page with the way to test it; a file request that
fails (FileError) is a message on the listing of the directory it concerns.
"""

import posixpath
import unicodedata
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from access.checks import allowed
from audit.context import for_request
from connect import services, sftp
from connect.ssh import ConnectError, FailureKind
from connect.transfer_guard import guard_download
from machines.models import VirtualMachine
from machines.views.common import get_vm
from vmlab.core.middleware import request_body_limit
from vmlab.core.sizes import file_size
from vmlab.core.streaming import stream_under_asgi

# Room for the multipart framing and the form's other fields around a file of SFTP_MAX_FILE_SIZE bytes.
MULTIPART_ALLOWANCE = 64 * 1024


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"), allow_empty_file=True, error_messages={"required": gettext_lazy("Choose a file.")}
    )
    overwrite = forms.BooleanField(label=gettext_lazy("Replace a file of the same name"), required=False)
    directory = forms.CharField(widget=forms.HiddenInput, required=False, max_length=4096)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.SFTP_MAX_FILE_SIZE:
            raise forms.ValidationError(
                f"{sftp.too_large_message(upload.name, upload.size)} {_('Nothing was uploaded.')}"
            )
        try:
            sftp.check_name(upload.name)
        except sftp.FileError as error:
            raise forms.ValidationError(error.message) from None
        return upload


def listing_url(vm_pk: int, path: str = "") -> str:
    """As the page links it: `/` left as is, for a readable address (the template's urlencode does the same)."""
    url = reverse("connect:files", args=[vm_pk])
    return f"{url}?path={quote(path)}" if path else url


def download_name(name: str) -> str:
    """`name` with control characters (a newline is allowed in a file name) replaced: an HTTP header holds none."""
    return "".join("_" if unicodedata.category(char) == "Cc" else char for char in name)


def files_page(request, vm, *, status: int = 200, **context):
    """The files page: a listing, or what kept it from being shown (`error`, with its `error_kind`)."""
    return render(
        request, "connect/files.html", {"vm": vm, "max_size": settings.SFTP_MAX_FILE_SIZE, **context}, status=status
    )


def connection_failed(request, vm, error: ConnectError):
    """No connection, so no listing either: the page says why and leads to the connection test."""
    kind = "host_key_unknown" if error.kind == FailureKind.HOST_KEY_UNKNOWN else "connection"
    return files_page(request, vm, error=error.message, error_kind=kind)


def too_many_connections(request, vm, error: services.TooManyConnections, directory: str):
    retry_url = listing_url(vm.pk, directory)
    return files_page(request, vm, status=429, error=error.message, error_kind="busy", retry_url=retry_url)


@require_safe
def file_list(request, pk):
    vm = get_vm(request, pk, VirtualMachine.objects.visible_to)
    path = request.GET.get("path", "")
    try:
        listing = services.vm_directory_list(vm=vm, actor=request.user, path=path)
    except services.TooManyConnections as error:
        return too_many_connections(request, vm, error, path)
    except ConnectError as error:
        return connection_failed(request, vm, error)
    except sftp.FileError as error:
        return files_page(request, vm, error=error.message, error_kind="file")
    return files_page(request, vm, listing=listing, form=UploadForm(initial={"directory": listing.path}))


@require_safe
def file_download(request, pk):
    vm = get_vm(request, pk, VirtualMachine.objects.visible_to)
    path = request.GET.get("path", "")
    try:
        result = services.vm_file_download(vm=vm, actor=request.user, path=path, context=for_request(request))
    except services.TooManyConnections as error:
        return too_many_connections(request, vm, error, posixpath.dirname(path))
    except ConnectError as error:
        return connection_failed(request, vm, error)
    except sftp.FileError as error:
        messages.error(request, error.message)
        return redirect(listing_url(vm.pk, posixpath.dirname(path)))
    # FileResponse quotes the name with content_disposition_header, which refuses control characters.
    response = FileResponse(
        result.file, as_attachment=True, filename=download_name(result.name), content_type="application/octet-stream"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return guard_download(stream_under_asgi(request, response), user_pk=request.user.pk, vm_pk=vm.pk)


def may_upload_large_files(request, pk) -> bool:
    """Those who may connect to the VM: whoever may see it."""
    return allowed(VirtualMachine.objects.visible_to, request.user, VirtualMachine(pk=pk))


@request_body_limit(lambda: settings.SFTP_MAX_FILE_SIZE + MULTIPART_ALLOWANCE, granted=may_upload_large_files)
@require_POST
def file_upload(request, pk):
    vm = get_vm(request, pk, VirtualMachine.objects.visible_to)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(listing_url(vm.pk, request.POST.get("directory", "")))
    upload = form.cleaned_data["file"]
    directory = form.cleaned_data["directory"]
    try:
        result = services.vm_file_upload(
            vm=vm,
            actor=request.user,
            directory=directory,
            name=upload.name,
            source=upload,
            overwrite=form.cleaned_data["overwrite"],
            context=for_request(request),
        )
    except services.TooManyConnections as error:
        return too_many_connections(request, vm, error, directory)
    except ConnectError as error:
        return connection_failed(request, vm, error)
    except sftp.UnusableDirectory as error:
        # Listing that directory would only fail again with the same message: show the login directory.
        messages.error(request, error.message)
        return redirect(listing_url(vm.pk))
    except sftp.FileError as error:
        messages.error(request, error.message)
        return redirect(listing_url(vm.pk, directory))
    directory = posixpath.dirname(result.path)
    values = {"name": upload.name, "size": file_size(result.size), "directory": directory}
    if result.replaced:
        message = _("“%(name)s” (%(size)s) was uploaded to %(directory)s, replacing the file of that name.")
    else:
        message = _("“%(name)s” (%(size)s) was uploaded to %(directory)s.")
    messages.success(request, message % values)
    return redirect(listing_url(vm.pk, directory))
