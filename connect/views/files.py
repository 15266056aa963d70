"""Browsing a VM's files, downloading and uploading them over SFTP (connect.sftp does the work)."""

import posixpath
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from connect import sftp
from connect.ssh import ConnectError, FailureKind
from machines.views.common import get_vm
from vmlab.middleware import request_body_limit

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


@require_GET
def file_list(request, pk):
    vm = get_vm(request, pk, "visible_to")
    context = {"vm": vm, "max_size": settings.SFTP_MAX_FILE_SIZE}
    try:
        listing = sftp.vm_directory_list(vm=vm, actor=request.user, path=request.GET.get("path", ""))
    except ConnectError as error:
        context["host_key_unknown"] = error.kind == FailureKind.HOST_KEY_UNKNOWN
        context["error"] = error.message
    except sftp.FileError as error:
        context["error"] = error.message
    else:
        context["listing"] = listing
        context["form"] = UploadForm(initial={"directory": listing.path})
    return render(request, "connect/files.html", context)


@require_GET
def file_download(request, pk):
    vm = get_vm(request, pk, "visible_to")
    path = request.GET.get("path", "")
    try:
        result = sftp.vm_file_download(vm=vm, actor=request.user, path=path, request=request)
    except (ConnectError, sftp.FileError) as error:
        messages.error(request, error.message)
        return redirect(listing_url(vm.pk, posixpath.dirname(path)))
    # FileResponse quotes the name with content_disposition_header: any name the VM has is safe in the header.
    response = FileResponse(
        result.file, as_attachment=True, filename=result.name, content_type="application/octet-stream"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@request_body_limit(lambda: settings.SFTP_MAX_FILE_SIZE + MULTIPART_ALLOWANCE)
@require_POST
def file_upload(request, pk):
    vm = get_vm(request, pk, "visible_to")
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(listing_url(vm.pk, request.POST.get("directory", "")))
    upload = form.cleaned_data["file"]
    directory = form.cleaned_data["directory"]
    try:
        result = sftp.vm_file_upload(
            vm=vm,
            actor=request.user,
            directory=directory,
            name=upload.name,
            source=upload,
            overwrite=form.cleaned_data["overwrite"],
            request=request,
        )
    except (ConnectError, sftp.FileError) as error:
        messages.error(request, error.message)
        return redirect(listing_url(vm.pk, directory))
    directory = posixpath.dirname(result.path)
    message = _("“%(name)s” (%(size)s) was uploaded to %(directory)s.")
    if result.replaced:
        message = _("“%(name)s” (%(size)s) was uploaded to %(directory)s, replacing the file of that name.")
    messages.success(
        request, message % {"name": upload.name, "size": filesizeformat(result.size), "directory": directory}
    )
    return redirect(listing_url(vm.pk, directory))
