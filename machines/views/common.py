from django.core.exceptions import ValidationError
from django.forms import Form
from django.shortcuts import get_object_or_404

from access.checks import QuerysetVerb
from machines.models import VirtualMachine


def get_vm(request, pk: int, verb: QuerysetVerb) -> VirtualMachine:
    """The VM `pk` if the queryset verb (VirtualMachine.objects.visible_to, editable_by, assignable_by) lets the
    user at it, else 404.

    Secrets are deferred: no page but reveal ever loads (so decrypts) them.
    """
    return get_object_or_404(verb(request.user).for_list(), pk=pk)


def add_service_errors(form: Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the field it names when the form has it."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)
