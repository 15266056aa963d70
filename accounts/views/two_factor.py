"""/accounts/two-factor/: a user's second factors. Add an authenticator app (QR code and secret, confirmed by one
code) or a passkey, see and replace the backup codes, remove a factor after confirming who they are."""

import logging
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_otp import login as otp_login

from access import rights
from accounts import identity, lockout
from accounts.forms import ConfirmIdentityForm, RemoveDeviceForm, SecondFactorForm
from accounts.two_factor import devices, qr, services
from accounts.two_factor.middleware import enrolment_allowed
from audit.context import for_request
from vmlab.core.crypto import DecryptionError

logger = logging.getLogger(__name__)

_NEW_CODES = "accounts.new_backup_codes"


def remember_new_backup_codes(request, codes: list[str]) -> None:
    """Backup codes just made: shown once, on the next view of the two-factor page."""
    if codes:
        request.session[_NEW_CODES] = codes


def _identity_form(request, form_class=ConfirmIdentityForm, data=None):
    return form_class(
        data,
        needs_password=identity.needs_password(request.user),
        needs_code=devices.has_second_factor(request.user),
    )


@enrolment_allowed
@require_safe
def two_factor(request):
    user = request.user
    codes = request.session.pop(_NEW_CODES, None)
    rows = devices.device_rows(user)
    context = {
        "rows": rows,
        "remove_forms": [(row, _identity_form(request, RemoveDeviceForm)) for row in rows],
        "regenerate_form": _identity_form(request),
        "required": rights.MUST_USE_SECOND_FACTOR.granted_to(user),
        "backup_codes_left": devices.backup_codes_left(user),
        "new_codes": codes,
        "codes_download": "data:text/plain;charset=utf-8," + quote(_codes_file(user, codes)) if codes else "",
    }
    return render(request, "accounts/two_factor.html", context)


def _codes_file(user, codes: list[str]) -> str:
    title = _("VM Lab backup codes for %(user)s. Each works once.") % {"user": user.get_username()}
    lines = [title, "", *codes, ""]
    return "\n".join(lines)


@enrolment_allowed
@sensitive_post_parameters("otp_token")
@require_http_methods(["GET", "POST"])
def totp_enrol(request):
    """Add an authenticator app: the QR code (inline SVG) and the secret as text, then one code to turn it on. The
    only page that shows (and so decrypts) an app's seed, and only while the app is not on yet."""
    user = request.user
    device = services.pending_authenticator_app(user)
    if request.method == "GET" and device is None:
        device = services.authenticator_app_start(user=user)
    if device is None:
        messages.error(request, _("Start again: this set-up had expired."))
        return redirect("accounts:two_factor_totp")
    try:
        shown = {"qr_svg": qr.svg(device.config_url), "secret": qr.base32_secret(device)}
    except DecryptionError:
        # Begun under a key FIELD_ENCRYPTION_KEYS no longer holds: no app can use this seed, so start afresh.
        logger.warning("The pending authenticator app of %s does not decrypt: a new one is set up.", user.username)
        services.authenticator_app_start(user=user)
        messages.error(request, _("Start again: this set-up had expired."))
        return redirect("accounts:two_factor_totp")
    form = SecondFactorForm(request.POST or None)
    form.fields["otp_token"].help_text = _("The 6-digit code your app shows now.")
    if request.method == "POST" and form.is_valid():
        confirmed, codes = services.authenticator_app_confirm(
            user=user, device=device, token=form.cleaned_data["otp_token"], context=for_request(request)
        )
        if confirmed:
            update_session_auth_hash(request, user)  # adding a factor ended the other sessions, not this one
            if not request.user.is_verified():
                otp_login(request, device)
            remember_new_backup_codes(request, codes)
            messages.success(request, _("Your authenticator app is set up: signing in now asks for its code."))
            return redirect("accounts:two_factor")
        form.add_error("otp_token", _("This code does not match. Check that your phone's clock is right."))
    response = render(request, "accounts/two_factor_totp.html", {"form": form, **shown})
    # It shows a secret: neither the browser's cache nor a proxy may keep the page.
    response["Cache-Control"] = "no-store"
    return response


def _confirmed(request, form) -> tuple[bool, object]:
    """Run confirm_identity with what `form` holds. (True, None), or (False, a lockout response or None)."""
    if not lockout.password_check_allowed(request, request.user):
        return False, lockout.lockout_response(request)
    try:
        identity.confirm_identity(
            user=request.user,
            password=form.cleaned_data.get("password", ""),
            otp_token=form.cleaned_data.get("otp_token", ""),
            context=for_request(request),
        )
    except identity.IdentityRefused as refusal:
        if lockout.count_refused_identity(request, request.user, refusal):
            return False, lockout.lockout_response(request)
        messages.error(request, refusal.message)
        return False, None
    return True, None


@enrolment_allowed
@sensitive_post_parameters("password", "otp_token")
@require_POST
def device_remove(request):
    form = _identity_form(request, RemoveDeviceForm, request.POST)
    if not form.is_valid():
        raise Http404("No such second factor.")
    device = devices.find_device(request.user, form.cleaned_data["device"])
    if device is None:
        raise Http404("No such second factor.")
    confirmed, response = _confirmed(request, form)
    if response is not None:
        return response
    if confirmed:
        label = devices.KIND_LABELS[devices.kind_of(device)]
        services.device_remove(user=request.user, device=device, context=for_request(request))
        messages.success(
            request, _("%(kind)s “%(name)s” removed.") % {"kind": label, "name": devices.display_name(device)}
        )
    return redirect("accounts:two_factor")


@sensitive_post_parameters("password", "otp_token")
@require_POST
def backup_codes_regenerate(request):
    if not devices.has_second_factor(request.user):
        raise Http404("Backup codes come with a second factor.")
    form = _identity_form(request, data=request.POST)
    form.is_valid()
    confirmed, response = _confirmed(request, form)
    if response is not None:
        return response
    if confirmed:
        remember_new_backup_codes(
            request, services.backup_codes_regenerate(user=request.user, context=for_request(request))
        )
        messages.success(request, _("New backup codes made: the old ones no longer work."))
    return redirect("accounts:two_factor")
