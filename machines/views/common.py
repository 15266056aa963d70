import re

from django.core.exceptions import ValidationError
from django.forms import Form
from django.shortcuts import get_object_or_404
from django.utils.text import slugify

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


def host_alias(vm: VirtualMachine) -> str:
    """A name for `Host` lines and file names: the VM's name as a slug, or vm-<pk> if nothing is left."""
    return slugify(vm.name) or f"vm-{vm.pk}"


def key_filename(vm: VirtualMachine) -> str:
    """<vm-name>_id, like ssh-keygen's id_<type>: the name with anything unsafe in a file name replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", vm.name).strip(".-")
    return f"{safe or f'vm-{vm.pk}'}_id"
