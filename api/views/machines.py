"""/api/v1/vms/: the VMs the caller may see (VirtualMachine.objects.visible_to), changed through machines.services."""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from access import rights
from access.checks import require_right
from accounts import identity, lockout
from accounts.models import User
from api.errors import Conflict, ImportNotApplied, SignInServiceUnavailable
from api.filters import VirtualMachineFilter
from api.serializers import (
    AssignSerializer,
    ImportReportSerializer,
    ImportRequestSerializer,
    RevealedSerializer,
    RevealSerializer,
    ShareSerializer,
    VirtualMachineSerializer,
    VirtualMachineWriteSerializer,
)
from api.views.common import ApiViewSet
from machines import reveal, services
from machines.file_forms import NO_FORMAT
from machines.imports import ImportChanged, vms_import
from machines.models import VirtualMachine
from machines.validators import normalize_ssh_key
from machines.versioning import StaleVersion
from machines.vm_files.columns import FileRefused, format_for_filename
from machines.vm_files.sshconfig import render as render_ssh_config
from vmlab.core.crypto import DecryptionError

logger = logging.getLogger(__name__)

STALE = gettext_lazy(
    "Someone else changed this VM after the version you sent, so nothing was saved. `current` holds the saved values; "
    "send your change again with its version to replace them."
)


def validated(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@extend_schema_view(
    list=extend_schema(summary="List the VMs you may see"),
    retrieve=extend_schema(summary="One VM (never its secrets)"),
)
class VirtualMachineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = VirtualMachineSerializer
    filterset_class = VirtualMachineFilter

    def get_queryset(self):
        return VirtualMachine.objects.visible_to(self.request.user).for_list()

    def _answer(self, vm: VirtualMachine, status_code=status.HTTP_200_OK) -> Response:
        shown = VirtualMachine.objects.for_list().get(pk=vm.pk)
        return Response(VirtualMachineSerializer(shown, context=self.get_serializer_context()).data, status=status_code)

    def _writes(self, data: dict) -> dict:
        if data.get("ssh_key"):
            data["ssh_key"] = normalize_ssh_key(data["ssh_key"])
        return data

    @extend_schema(
        summary="Create a VM (sidekicks, managers, admins)",
        request=VirtualMachineWriteSerializer,
        responses={201: VirtualMachineSerializer},
    )
    def create(self, request):
        data = self._writes(validated(VirtualMachineWriteSerializer, request.data))
        data.pop("version", None)
        vm = services.vm_create(actor=request.user, context=self.audit_context(), **data)
        return self._answer(vm, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a VM (its owner; admins any VM they see)",
        request=VirtualMachineWriteSerializer,
        responses={200: VirtualMachineSerializer, 409: OpenApiResponse(description="Changed since `version`")},
    )
    def update(self, request, pk=None):
        return self._update(request, partial=False)

    @extend_schema(
        summary="Change some fields of a VM",
        request=VirtualMachineWriteSerializer,
        responses={200: VirtualMachineSerializer, 409: OpenApiResponse(description="Changed since `version`")},
    )
    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def _update(self, request, *, partial: bool) -> Response:
        vm = self.object_from(VirtualMachine.objects.editable_by(request.user).for_list())
        data = self._writes(validated(VirtualMachineWriteSerializer, request.data, partial=partial))
        version = data.pop("version", None)
        try:
            services.vm_update(
                vm=vm, actor=request.user, expected_version=version, context=self.audit_context(), **data
            )
        except StaleVersion:
            current = VirtualMachineSerializer(VirtualMachine.objects.for_list().get(pk=vm.pk)).data
            raise Conflict(STALE, current=current) from None
        except VirtualMachine.DoesNotExist:
            raise exceptions.NotFound() from None
        return self._answer(vm)

    @extend_schema(summary="Delete a VM", responses={204: None})
    def destroy(self, request, pk=None):
        vm = self.object_from(VirtualMachine.objects.editable_by(request.user))
        services.vm_delete(vm=vm, actor=request.user, context=self.audit_context())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Share a VM or make it private", request=ShareSerializer, responses=VirtualMachineSerializer)
    @action(detail=True, methods=["post"])
    def share(self, request, pk=None):
        vm = self.object_from(VirtualMachine.objects.editable_by(request.user).for_list())
        shared = validated(ShareSerializer, request.data)["shared"]
        if shared != vm.shared:
            services.vm_set_shared(vm=vm, actor=request.user, shared=shared, context=self.audit_context())
        return self._answer(vm)

    @extend_schema(
        summary="Assign a VM to a regular or sidekick user, or to nobody (managers, admins)",
        request=AssignSerializer,
        responses=VirtualMachineSerializer,
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        vm = self.object_from(VirtualMachine.objects.assignable_by(request.user).for_list())
        assignee = validated(AssignSerializer, request.data)["assigned_to"]
        services.vm_assign(vm=vm, actor=request.user, assignee=assignee, context=self.audit_context())
        return self._answer(vm)

    @extend_schema(
        summary="Import VMs from a file (CSV, JSON, YAML, ~/.ssh/config): preview, then apply",
        description=(
            "The VM page's import: with `dry_run` (the default) nothing is written and the report says what each row "
            "would do (create, update, unchanged, skip, error, with reasons); with `dry_run=false` every row is "
            "written through the same services as one VM at a time, all or nothing. Pass the dry run's `preview` to "
            "apply exactly what it showed: if the VMs changed since, the answer is a 409 with the new preview. An "
            "import with rows in error writes nothing: 400 with the report. Secrets in the file are set, encrypted, "
            "and never shown back."
        ),
        request={"multipart/form-data": ImportRequestSerializer},
        responses=ImportReportSerializer,
    )
    @action(detail=False, methods=["post"], url_path="import", url_name="import", parser_classes=[MultiPartParser])
    def import_file(self, request):
        data = validated(ImportRequestSerializer, request.data)
        upload = data["file"]
        file_format = data.get("format") or format_for_filename(upload.name)
        if file_format is None:
            raise exceptions.ValidationError({"format": [NO_FORMAT % {"name": upload.name}]})
        try:
            report = vms_import(
                actor=request.user,
                data=upload.read(),
                file_format=file_format,
                dry_run=data["dry_run"],
                owner=self._import_owner(data.get("owner")),
                match=data["match"],
                preview=data.get("preview") or None,
                context=self.audit_context(),
            )
        except FileRefused as refusal:
            raise exceptions.ValidationError({"file": refusal.messages}) from None
        except ImportChanged as changed:
            raise ImportNotApplied(
                str(changed.message), changed.report.as_dict(), status_code=status.HTTP_409_CONFLICT, code="changed"
            ) from None
        if report.has_errors:
            message = _("Some rows have errors: nothing was written. See report.rows[].reasons.")
            raise ImportNotApplied(message, report.as_dict(), status_code=status.HTTP_400_BAD_REQUEST, code="rows")
        return Response(ImportReportSerializer(report.as_dict()).data)

    def _import_owner(self, username: str | None):
        """The owner an admin names; None, the caller's own VMs, otherwise."""
        if not username or username.lower() == self.request.user.get_username().lower():
            return None
        require_right(rights.ADMINISTER, self.request.user, _("Only admins import VMs for someone else."))
        owner = User.objects.with_username(username).first()
        if owner is None:
            raise exceptions.ValidationError({"owner": [_("There is no user named “%(name)s”.") % {"name": username}]})
        return owner

    @extend_schema(
        summary="One ~/.ssh/config for every VM you see (no secret in it)",
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    @action(detail=False, methods=["get"], url_path="ssh-config", pagination_class=None)
    def ssh_config(self, request):
        vms = self.filter_queryset(self.get_queryset()).order_by("name", "pk")
        return HttpResponse(render_ssh_config(vms), content_type="text/plain; charset=utf-8")

    @extend_schema(
        summary="Reveal a VM's password or SSH key, after your own password (and second factor)",
        description=(
            "Confirms who is asking as the VM page does: your password, and the code of your second factor when "
            "you have one (accounts that sign in with OpenID Connect send the code alone). Counted against "
            "REVEAL_RATE_LIMIT and the login lockout like the VM page's reveal form, and written to the audit "
            "trail. Needs a session or a write-scope token. The answer is never cached."
        ),
        request=RevealSerializer,
        responses=RevealedSerializer,
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        vm = self.object_from(VirtualMachine.objects.visible_to(request.user).for_list())
        try:
            reveal.reveal_gate(request._request)
            data = validated(RevealSerializer, request.data)
            value = reveal.reveal_secret(
                request._request,
                vm=vm,
                field=data["secret"],
                account_password=data.get("password", ""),
                otp_token=data.get("otp_token", ""),
            )
        except reveal.TooManyAttempts as refusal:
            raise exceptions.Throttled(wait=reveal.REVEAL_WINDOW, detail=str(refusal)) from None
        except reveal.LockedOut:
            minutes = lockout.minutes_left(request._request)
            message = ngettext(
                "Too many wrong passwords: this account is locked out here for %(minutes)d minute(s).",
                "Too many wrong passwords: this account is locked out here for %(minutes)d minute(s).",
                minutes,
            )
            raise exceptions.Throttled(wait=minutes * 60, detail=message % {"minutes": minutes}) from None
        except identity.IdentityRefused as refusal:
            if refusal.reason == identity.UNAVAILABLE:  # the directory does not answer
                raise SignInServiceUnavailable(refusal.message) from None
            raise exceptions.ValidationError({refusal.field: [refusal.message]}) from None
        except DjangoValidationError as error:  # the VM has no such secret
            raise exceptions.ValidationError({"secret": error.messages}) from None
        except DecryptionError:
            logger.error("VM #%s: its %s cannot be decrypted with FIELD_ENCRYPTION_KEYS.", vm.pk, data["secret"])
            raise exceptions.APIException(
                _("Cannot decrypt a stored secret: check FIELD_ENCRYPTION_KEYS."), code="cannot_decrypt"
            ) from None
        response = Response(RevealedSerializer({"secret": data["secret"], "value": value}).data)
        # Neither a client cache nor a proxy may keep a copy.
        response["Cache-Control"] = "no-store"
        return response
