"""The two ends of an OpenID Connect sign-in: the redirect to the provider, and its answer (/oidc/callback/)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts import oidc
from accounts.two_factor import sign_in


class StartView(OIDCAuthenticationRequestView):
    """Send the browser to the provider, with a fresh state, nonce and PKCE challenge kept in the session."""

    get_settings = staticmethod(oidc.oidc_setting)

    def __init__(self, **kwargs):
        View.__init__(self, **kwargs)  # the endpoints are read in get(), where a provider that is down can be told

    def get(self, request):
        if not oidc.enabled():
            raise Http404("OpenID Connect is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except oidc.ProviderUnavailable:
            messages.error(request, oidc.unavailable_message())
            return redirect("accounts:login")
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """The provider's answer: checked by accounts.oidc.OIDCBackend, then the second factor, if the user has one."""

    get_settings = staticmethod(oidc.oidc_setting)

    def get(self, request):
        if not oidc.enabled():
            raise Http404("OpenID Connect is not configured.")
        state = request.GET.get("state")
        if "code" in request.GET and state not in request.session.get("oidc_states", {}):
            # A state this browser did not start, or one already used: a replayed or forged answer.
            request.sign_in_problem = _("This sign-in answer is not one this browser is waiting for: sign in again.")
            return self.login_failure()
        return super().get(request)

    def login_failure(self):
        user = getattr(self, "user", None)
        if user is not None and not user.is_active:
            problem = _("This account is disabled. Ask a lab manager to enable it.")
        elif self.request.GET.get("error"):
            problem = _("%(provider)s did not sign you in.") % {"provider": self.get_settings("OIDC_PROVIDER_NAME")}
        else:
            problem = getattr(self.request, "sign_in_problem", None) or _("Signing in did not work: try again.")
        messages.error(self.request, problem)
        return redirect("accounts:login")

    def login_success(self):
        return sign_in.start(self.request, self.user, redirect_to=self.success_url)


start = login_not_required(require_safe(StartView.as_view()))
callback = login_not_required(require_safe(CallbackView.as_view()))
