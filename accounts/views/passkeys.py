"""django-otp-webauthn's JSON endpoints, wired to VM Lab's two steps: registering a passkey from the two-factor page
(recorded, with backup codes for a first factor), and using one as the second step of a sign-in."""

import json

from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import exceptions
from django_otp_webauthn import views as webauthn_views
from django_otp_webauthn.models import WebAuthnCredential

from accounts import lockout
from accounts.two_factor import passkey_confirmation, services, sign_in
from accounts.two_factor.middleware import enrolment_allowed, second_factor_step
from accounts.views.two_factor import remember_new_backup_codes
from audit.context import for_request


class CompleteRegistrationView(webauthn_views.CompleteCredentialRegistrationView):
    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        user = self.request.user
        device = WebAuthnCredential.objects.get(pk=response_id(response), user=user)
        codes = services.passkey_added(user=user, device=device, context=for_request(self.request))
        update_session_auth_hash(self.request, user)  # adding a factor ended the other sessions, not this one
        remember_new_backup_codes(self.request, codes)
        return response


def response_id(response: JsonResponse) -> int:
    return json.loads(response.content)["id"]


class PendingSignInMixin:
    """The user is the one whose sign-in waits for its second factor; while they are locked out, nothing is checked."""

    def get_user(self):
        return sign_in.pending_user(self.request)

    def check_can_authenticate(self):
        user = self.get_user()
        if user is None:
            raise exceptions.NotAuthenticated()
        if not lockout.password_check_allowed(self.request, user):
            raise LockedOut()


class LockedOut(exceptions.OTPWebAuthnApiError):
    status_code = 429
    code = "locked_out"
    default_detail = gettext_lazy("Too many attempts: this account is locked out for a while.")


class BeginAuthenticationView(PendingSignInMixin, webauthn_views.BeginCredentialAuthenticationView):
    pass


class CompleteAuthenticationView(PendingSignInMixin, webauthn_views.CompleteCredentialAuthenticationView):
    def post(self, *args, **kwargs):
        user = self.get_user()
        try:
            return super().post(*args, **kwargs)
        except exceptions.OTPWebAuthnApiError:
            # A passkey that does not verify counts like a wrong code.
            lockout.count_wrong_second_factor(self.request, user)
            raise

    def complete_auth(self, device):
        redirect_to = sign_in.pending_redirect(self.request)
        self.redirect_to = sign_in.finish(self.request, device.user, device=device, redirect_to=redirect_to).url

    def get_success_url(self):
        return self.redirect_to


class ConfirmationMixin:
    """A signed-in user confirms who they are with one of their passkeys (accounts.two_factor.passkey_confirmation).
    Not while locked out; a passkey that does not verify counts like a wrong code."""

    def check_can_authenticate(self):
        if not lockout.password_check_allowed(self.request, self.request.user):
            raise LockedOut()
        super().check_can_authenticate()


class BeginConfirmationView(ConfirmationMixin, webauthn_views.BeginCredentialAuthenticationView):
    pass


class CompleteConfirmationView(ConfirmationMixin, webauthn_views.CompleteCredentialAuthenticationView):
    def post(self, *args, **kwargs):
        try:
            return super().post(*args, **kwargs)
        except exceptions.OTPWebAuthnApiError:
            lockout.count_failed_password_check(self.request, self.request.user)
            raise

    def complete_auth(self, device):
        passkey_confirmation.remember(self.request)

    def get_success_url(self):
        return self.get_redirect_url() or reverse("dashboard")


register_begin = enrolment_allowed(require_POST(webauthn_views.BeginCredentialRegistrationView.as_view()))
register_complete = enrolment_allowed(require_POST(CompleteRegistrationView.as_view()))
authenticate_begin = second_factor_step(login_not_required(require_POST(BeginAuthenticationView.as_view())))
authenticate_complete = second_factor_step(login_not_required(require_POST(CompleteAuthenticationView.as_view())))
confirmation_begin = require_POST(BeginConfirmationView.as_view())
confirmation_complete = require_POST(CompleteConfirmationView.as_view())
# The translations the package's scripts use; the code step loads it before anyone is logged in.
javascript_catalog = second_factor_step(
    enrolment_allowed(login_not_required(require_safe(JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]))))
)
