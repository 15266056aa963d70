"""The second step of signing in: a code (authenticator app or backup code) or a passkey."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts import lockout
from accounts.forms import SecondFactorForm
from accounts.two_factor import devices, sign_in
from accounts.two_factor.middleware import second_factor_step
from accounts.two_factor.verification import AuthenticatorUnreadable, verify_code
from audit.context import for_request


@second_factor_step
@login_not_required
@sensitive_post_parameters("otp_token")
@require_http_methods(["GET", "POST"])
def second_factor(request):
    user = sign_in.pending_user(request)
    if user is None:
        messages.info(request, _("Sign in again: the time to enter your code ran out."))
        return redirect("accounts:login")
    if request.method == "POST" and "cancel" in request.POST:
        sign_in.cancel(request)
        return redirect("accounts:login")
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST":
        if not lockout.password_check_allowed(request, user):
            sign_in.cancel(request)
            return lockout.lockout_response(request, credentials={"username": user.get_username()})
        if form.is_valid():
            try:
                device = verify_code(user, form.cleaned_data["otp_token"], context=for_request(request))
            except AuthenticatorUnreadable as unreadable:
                device, refusal = None, unreadable
            else:
                refusal = None
            if device is not None:
                return sign_in.finish(request, user, device=device, redirect_to=sign_in.pending_redirect(request))
            if refusal is not None and not refusal.counted:
                lockout.record_uncounted_second_factor(request, user, refusal.reason)
            elif lockout.count_wrong_second_factor(request, user):
                sign_in.cancel(request)
                return lockout.lockout_response(request, credentials={"username": user.get_username()})
            wrong_code = _("This code is not valid, or was used already. Check your phone's clock.")
            form.add_error("otp_token", refusal.message if refusal else wrong_code)
    context = {
        "form": form,
        "has_totp": devices.has_authenticator_app(user),
        "has_passkey": devices.has_passkey(user),
    }
    return render(request, "registration/second_factor.html", context)
