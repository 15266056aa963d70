"""Signing in and out, registering, and Django's password views wired to this app's templates and URLs."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import directory, lockout, oidc, services
from accounts.forms import AccountLanguagePasswordResetForm, LoginForm, RegistrationForm
from accounts.middleware import new_user_allowed
from accounts.two_factor import sign_in
from audit.context import for_request

# Django's views check the method only after their own first steps (a signed-in user's redirect, a reset link's
# check), so each is wrapped: a method it does not take is a 405 before anything else.
GET_OR_POST = require_http_methods(["GET", "POST"])


class SignInStepMixin:
    """The password step of a login view: a user with a second factor is asked for it before being logged in."""

    def form_valid(self, form):
        return sign_in.start(self.request, form.get_user(), redirect_to=self.get_success_url())


class LoginView(SignInStepMixin, auth_views.LoginView):
    authentication_form = LoginForm
    redirect_authenticated_user = True
    # Break-glass sign-in (LOCAL_LOGIN=false): the password form for the accounts that may still use one.
    break_glass = False

    def get_context_data(self, **kwargs):
        password_form = settings.LOCAL_LOGIN or directory.enabled() or self.break_glass
        return super().get_context_data(
            **kwargs,
            password_form=password_form,
            break_glass=self.break_glass,
            directory=directory.enabled(),
            oidc=oidc.enabled(),
            oidc_provider_name=settings.OIDC_PROVIDER_NAME,
            local_accounts=settings.LOCAL_LOGIN,
        )


class AdminLoginView(SignInStepMixin, auth_views.LoginView):
    """The Django admin's login form (accounts.admin_site)."""


login_view = GET_OR_POST(LoginView.as_view())
login_break_glass = GET_OR_POST(LoginView.as_view(break_glass=True))


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        # After logout() flushed the session: the message goes into a fresh one.
        messages.info(request, _("You have been logged out."))
        return response


logout_view = new_user_allowed(require_POST(LogoutView.as_view()))

password_reset = GET_OR_POST(
    auth_views.PasswordResetView.as_view(
        form_class=AccountLanguagePasswordResetForm,
        email_template_name="registration/password_reset_email.txt",
        subject_template_name="registration/password_reset_subject.txt",
        success_url=reverse_lazy("accounts:password_reset_done"),
    )
)
password_reset_done = require_safe(auth_views.PasswordResetDoneView.as_view())


class RecordPasswordChangeMixin:
    """A successful password change or reset goes into the audit trail (never the password)."""

    how = ""

    def form_valid(self, form):
        response = super().form_valid(form)
        # The actor is whoever is logged in, or the user themselves when a reset link was used.
        actor = self.request.user if self.request.user.is_authenticated else form.user
        services.user_password_changed(user=form.user, actor=actor, how=self.how, context=for_request(self.request))
        return response


class PasswordResetConfirmView(RecordPasswordChangeMixin, auth_views.PasswordResetConfirmView):
    how = "reset"

    def form_valid(self, form):
        response = super().form_valid(form)
        # The reset link proved who they are: the new password must not meet an old lockout.
        lockout.unlock(form.user)
        return response


class PasswordChangeView(RecordPasswordChangeMixin, auth_views.PasswordChangeView):
    """The current password is checked like a login: counted, and not checked at all while locked out."""

    how = "change"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_local_password:
            messages.info(request, _("Your password is kept by your institution's account: change it there."))
            return redirect("accounts:profile")
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if not lockout.password_check_allowed(request, request.user):
            return lockout.lockout_response(request)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        return lockout.refuse_wrong_password(self.request, form, "old_password") or super().form_invalid(form)


password_reset_confirm = GET_OR_POST(
    PasswordResetConfirmView.as_view(
        success_url=reverse_lazy("accounts:password_reset_complete"),
    )
)
password_reset_complete = require_safe(auth_views.PasswordResetCompleteView.as_view())

# Not Django's default template names: those belong to the Django admin's own password change pages.
password_change = GET_OR_POST(
    PasswordChangeView.as_view(
        template_name="registration/change_password.html",
        success_url=reverse_lazy("accounts:password_change_done"),
    )
)
password_change_done = require_safe(
    auth_views.PasswordChangeDoneView.as_view(
        template_name="registration/change_password_done.html",
    )
)


@login_not_required
@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def register(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = services.user_register(
            username=data["username"],
            email=data["email"],
            password=data["password1"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            context=for_request(request),
        )
        login(request, user, backend="accounts.backends.LoginBackend")
        messages.success(request, _("Welcome, %(user)s! Your account has been created.") % {"user": user.username})
        return redirect("accounts:waiting")
    return render(request, "accounts/register.html", {"form": form})


@new_user_allowed
@require_safe
def waiting(request):
    if request.user.is_approved:
        return redirect("dashboard")
    return render(request, "accounts/waiting.html")
