"""Setting, removing and revealing a VM's password and SSH key. No GET response here ever holds a secret."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from accounts import identity, lockout
from accounts.two_factor import passkey_confirmation
from accounts.two_factor.devices import has_passkey, has_second_factor
from audit.context import for_request
from machines import reveal, services
from machines.forms import RevealSecretForm, VirtualMachinePasswordForm, VirtualMachineSshKeyForm
from machines.models import VirtualMachine
from machines.views.common import add_service_errors, get_vm
from machines.vm_files.sshconfig import key_filename
from vmlab.core.crypto import DecryptionError

logger = logging.getLogger(__name__)

SECRET_CHOICES = (("password", gettext_lazy("Password")), ("ssh_key", gettext_lazy("SSH private key")))
CANNOT_DECRYPT = gettext_lazy("Cannot decrypt a stored secret: check FIELD_ENCRYPTION_KEYS.")
# The reveal form's name for each field of accounts.identity.IdentityRefused.
REVEAL_FIELDS = {"password": "account_password", "otp_token": "otp_token"}


@dataclass(frozen=True)
class SecretPage:
    field: str
    form_class: type[Form]
    set_secret: Callable
    remove_secret: Callable
    template: str
    set_message: str
    removed_message: str
    nothing_to_remove: str


def _secret_page(request, pk, page: SecretPage):
    vm = get_vm(request, pk, VirtualMachine.objects.editable_by)
    is_set = getattr(vm, f"has_{page.field}")
    form = page.form_class(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            if not form.cleaned_data["remove"]:
                value = {page.field: form.cleaned_data[page.field]}
                page.set_secret(vm=vm, actor=request.user, context=for_request(request), **value)
                message = page.set_message
            elif is_set:
                page.remove_secret(vm=vm, actor=request.user, context=for_request(request))
                message = page.removed_message
            else:
                message = page.nothing_to_remove
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, message % {"name": vm.name})
            return redirect("machines:detail", pk=vm.pk)
    return render(request, page.template, {"vm": vm, "form": form, "is_set": is_set})


PASSWORD_PAGE = SecretPage(
    field="password",
    form_class=VirtualMachinePasswordForm,
    set_secret=services.vm_set_password,
    remove_secret=services.vm_remove_password,
    template="machines/vm_password.html",
    set_message=gettext_lazy("The password of “%(name)s” was saved."),
    removed_message=gettext_lazy("The password of “%(name)s” was removed."),
    nothing_to_remove=gettext_lazy("“%(name)s” had no password to remove."),
)
SSH_KEY_PAGE = SecretPage(
    field="ssh_key",
    form_class=VirtualMachineSshKeyForm,
    set_secret=services.vm_set_ssh_key,
    remove_secret=services.vm_remove_ssh_key,
    template="machines/vm_ssh_key.html",
    set_message=gettext_lazy("The SSH key of “%(name)s” was saved."),
    removed_message=gettext_lazy("The SSH key of “%(name)s” was removed."),
    nothing_to_remove=gettext_lazy("“%(name)s” had no SSH key to remove."),
)


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def vm_password(request, pk):
    return _secret_page(request, pk, PASSWORD_PAGE)


@sensitive_post_parameters("ssh_key")
@require_http_methods(["GET", "POST"])
def vm_ssh_key(request, pk):
    return _secret_page(request, pk, SSH_KEY_PAGE)


def _secret_response(request, vm, field: str, secret: str) -> HttpResponse:
    if field == "ssh_key":
        response = HttpResponse(secret, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, key_filename(vm))
    else:
        response = render(request, "machines/vm_reveal_password.html", {"vm": vm, "secret": secret})
    # Neither the browser nor a proxy may keep a copy: going back must not show the secret again.
    response["Cache-Control"] = "no-store"
    return response


@sensitive_variables()
@sensitive_post_parameters("account_password", "otp_token")
@require_http_methods(["GET", "POST"])
def vm_reveal(request, pk):
    vm = get_vm(request, pk, VirtualMachine.objects.visible_to)
    choices = [(field, label) for field, label in SECRET_CHOICES if getattr(vm, f"has_{field}")]
    # What confirms who is asking: the password (not for OIDC accounts) and, with a second factor, a code or a
    # passkey just used on this page.
    passkey = has_passkey(request.user)
    passkey_confirmed = passkey and passkey_confirmation.is_fresh(request)
    offer_passkey = passkey and not passkey_confirmed
    asks = {
        "needs_password": identity.needs_password(request.user),
        "needs_code": has_second_factor(request.user) and not passkey_confirmed,
    }
    context = {
        "vm": vm,
        "form": RevealSecretForm(choices=choices, **asks),
        "passkey": passkey,
        "passkey_confirmed": passkey_confirmed,
        "passkey_config": passkey_confirmation.script_configuration(request) if offer_passkey else None,
    }
    if request.method == "POST" and choices:
        try:
            reveal.reveal_gate(request)
        except reveal.TooManyAttempts as refusal:
            return render(request, "machines/vm_reveal.html", {**context, "error": str(refusal)}, status=429)
        except reveal.LockedOut:
            return lockout.lockout_response(request)
        form = context["form"] = RevealSecretForm(request.POST, choices=choices, **asks)
        if form.is_valid():
            field = form.cleaned_data["secret"]
            try:
                secret = reveal.reveal_secret(
                    request,
                    vm=vm,
                    field=field,
                    account_password=form.cleaned_data.get("account_password", ""),
                    otp_token=form.cleaned_data.get("otp_token", ""),
                    passkey_confirmed=passkey_confirmed,
                )
                passkey_confirmation.take(request)  # one passkey, one reveal
            except reveal.LockedOut:
                return lockout.lockout_response(request)
            except identity.IdentityRefused as refusal:
                name = REVEAL_FIELDS[refusal.field]
                form.add_error(name if name in form.fields else None, refusal.message)
            except ValidationError as error:
                form.add_error(None, error)
            except DecryptionError:
                logger.error("VM #%s: its %s cannot be decrypted with FIELD_ENCRYPTION_KEYS.", vm.pk, field)
                context["error"] = CANNOT_DECRYPT
            else:
                return _secret_response(request, vm, field, secret)
    return render(request, "machines/vm_reveal.html", context)
