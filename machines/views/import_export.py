"""Importing VMs from a file (upload, preview, apply) and exporting the VMs a user sees.

Between the preview and "Apply" the uploaded file waits in the session, encrypted with FIELD_ENCRYPTION_KEYS (it may
hold passwords and keys): the apply imports exactly that file, and only while it still does what the preview showed
(machines.imports' fingerprint). Applying, discarding or previewing another file removes it.
"""

import base64
import zlib

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from access import rights
from access.checks import requires
from audit.context import for_request
from machines.file_forms import VirtualMachineExportForm, VirtualMachineImportForm
from machines.imports import (
    CREATE,
    MATCHES,
    UNCHANGED,
    UPDATE,
    ImportChanged,
    ImportReport,
    vms_import_apply,
    vms_import_preview,
)
from machines.models import VirtualMachine
from machines.vm_files import writing
from vmlab.core import crypto

PENDING = "machines.pending_import"
OUT_OF_DATE = gettext_lazy(
    "There is no preview to apply (it was applied or discarded, or you logged in again): upload the file again."
)


@sensitive_variables("data")
def _keep(request, data: bytes, *, name: str, file_format: str, match: str, owner, report: ImportReport) -> None:
    sealed = crypto.encrypt(base64.b64encode(zlib.compress(data)).decode("ascii"))
    request.session[PENDING] = {
        "file": sealed,
        "name": name,
        "format": file_format,
        "match": match,
        "owner": owner.pk if owner else None,
        "preview": report.preview,
    }


@sensitive_variables()
def _kept_file(pending: dict) -> bytes:
    return zlib.decompress(base64.b64decode(crypto.decrypt(pending["file"])))


def _preview_page(request, report: ImportReport, *, name: str, status: int = 200):
    context = {"report": report, "name": name, "counts": report.counts, "match": MATCHES[report.match]}
    return render(request, "machines/vm_import_preview.html", context, status=status)


@sensitive_variables("data")
@require_http_methods(["GET", "POST"])
@requires(rights.OWN_VMS)
def vm_import(request):
    form = VirtualMachineImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        options = {
            "file_format": form.cleaned_data["format"],
            "match": form.cleaned_data["match"],
            "owner": form.cleaned_data.get("owner"),
        }
        request.session.pop(PENDING, None)
        try:
            report = vms_import_preview(actor=request.user, data=data, **options)
        except ValidationError as error:
            form.add_error("file", error)
        else:
            _keep(request, data, name=upload.name, report=report, **options)
            return _preview_page(request, report, name=upload.name)
    return render(request, "machines/vm_import.html", {"form": form})


@require_POST
@requires(rights.OWN_VMS)
def vm_import_apply(request):
    pending = request.session.get(PENDING)
    if not pending or request.POST.get("preview") != pending["preview"]:
        messages.error(request, OUT_OF_DATE)
        return redirect("machines:import")
    owner = get_user_model().objects.filter(pk=pending["owner"]).first() if pending["owner"] else None
    if pending["owner"] and owner is None:
        request.session.pop(PENDING, None)
        messages.error(request, _("The owner you chose for this import no longer exists: nothing was written."))
        return redirect("machines:import")
    try:
        report = vms_import_apply(
            actor=request.user,
            data=_kept_file(pending),
            file_format=pending["format"],
            match=pending["match"],
            owner=owner,
            preview=pending["preview"],
            context=for_request(request),
        )
    except ImportChanged as changed:
        pending["preview"] = changed.report.preview
        request.session[PENDING] = pending
        messages.error(request, changed.messages[0])
        return _preview_page(request, changed.report, name=pending["name"], status=409)
    except (ValidationError, PermissionDenied) as error:
        # The file was readable at the preview: what changed is who may import it (a role, the owner's account).
        request.session.pop(PENDING, None)
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return redirect("machines:import")
    if not report.applied:
        return _preview_page(request, report, name=pending["name"], status=409)
    request.session.pop(PENDING, None)
    counts = report.counts
    messages.success(
        request,
        _("Import applied: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.")
        % {"created": counts[CREATE], "updated": counts[UPDATE], "unchanged": counts[UNCHANGED]},
    )
    return redirect("dashboard")


@require_POST
@requires(rights.OWN_VMS)
def vm_import_discard(request):
    if request.session.pop(PENDING, None):
        messages.info(request, _("The import was discarded: nothing was written."))
    return redirect("machines:import")


@require_safe
@requires(rights.USE_PORTAL)
def vm_export(request):
    vms = VirtualMachine.objects.visible_to(request.user)
    form = VirtualMachineExportForm(request.GET or None)
    if form.is_valid():
        file_format = form.cleaned_data["format"]
        content = writing.render(vms.for_list().order_by("name", "pk"), file_format)
        response = HttpResponse(content, content_type=writing.CONTENT_TYPES[file_format])
        name = f"vmlab-vms-{timezone.localdate():%Y-%m-%d}.{writing.EXTENSIONS[file_format]}"
        response["Content-Disposition"] = content_disposition_header(True, name)
        return response
    return render(request, "machines/vm_export.html", {"form": form, "count": vms.count()})
