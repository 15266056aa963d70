"""Every API error in one shape: {"error": {"code": "...", "message": "...", "fields": {"name": ["..."]}}}.

Refusals from the services keep their words: a Django ValidationError becomes a 400 naming the fields, a
PermissionDenied a 403 (for a change the caller's role may not make on an object they can see; objects they cannot
see are 404 before any service is asked).
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

NON_FIELD = "non_field_errors"


class SignInServiceUnavailable(exceptions.APIException):
    """The directory that checks an account's password does not answer: nothing was checked or counted."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "sign_in_unavailable"


class Conflict(exceptions.APIException):
    """A write based on an outdated version: nothing was written. `current` holds the values stored now."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "stale_version"

    def __init__(self, message: str, current: dict):
        super().__init__(message)
        self.current = current


class ImportNotApplied(exceptions.APIException):
    """An import that wrote nothing: rows in error (400), or VMs changed since its preview (409). `report` is the
    preview as it stands now."""

    def __init__(self, message: str, report: dict, *, status_code: int, code: str):
        super().__init__(message, code)
        self.status_code = status_code
        self.report = report


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"


def error_body(code: str, message: str, fields: dict | None = None, **extra) -> dict:
    return {"error": {"code": code, "message": message, **({"fields": fields} if fields else {}), **extra}}


def json_error(status_code: int, code: str, message: str, **headers) -> JsonResponse:
    """An error outside DRF's views (the request-size limit, unknown API URLs), in the same shape."""
    return JsonResponse(error_body(code, message), status=status_code, headers=headers)


def _messages(detail) -> list[str]:
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _messages(value)]
    if isinstance(detail, list):
        return [message for value in detail for message in _messages(value)]
    return [str(detail)]


def _fields(detail: dict, prefix: str = "") -> dict[str, list[str]]:
    """{"field": ["message", ...]}; nested fields as "field.name", list items as "field.0"."""
    fields = {}
    for name, value in detail.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            fields |= _fields(value, f"{key}.")
        elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
            fields |= _fields({str(number): item for number, item in enumerate(value) if item}, f"{key}.")
        else:
            fields[key] = _messages(value)
    return fields


def _from_django(exc):
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(
                {NON_FIELD if name == "__all__" else name: messages for name, messages in exc.message_dict.items()}
            )
        return exceptions.ValidationError({NON_FIELD: exc.messages})
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    return exc


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def exception_handler(exc, context):
    exc = _from_django(exc)
    if not isinstance(exc, exceptions.APIException):
        logger.exception("API error in %s", context["view"].__class__.__name__, exc_info=exc)
        return Response(error_body("server_error", _("Something went wrong on the server.")), status=500)
    response = drf_exception_handler(exc, context)
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {NON_FIELD: exc.detail}
        fields = _fields(detail)
        general = fields.pop(NON_FIELD, [])
        message = " ".join(general) if general else _("Some fields are not valid: see fields.")
        response.data = error_body("invalid", message, fields)
        if general:
            response.data["error"].setdefault("fields", {})[NON_FIELD] = general
    elif isinstance(exc, Conflict):
        response.data = error_body(exc.default_code, str(exc.detail), current=exc.current)
    elif isinstance(exc, ImportNotApplied):
        response.data = error_body(_code(exc), str(exc.detail), report=exc.report)
    else:
        response.data = error_body(_code(exc), " ".join(_messages(exc.detail)))
    return response
