from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from access import rights
from accounts import lockout, services
from accounts.forms import ApiTokenForm, ProfileForm
from accounts.models import ApiToken, SignIn, User
from accounts.two_factor import devices
from audit.context import for_request
from audit.models import AuditEvent

RECENT_SIGN_INS = 10
NO_SECOND_FACTOR = gettext_lazy("none")


def _sign_in_row(event) -> dict:
    how = event.details.get("how", SignIn.LOCAL)
    factor = event.details.get("second_factor", "none")
    return {
        "when": event.created_at,
        "how": SignIn(how).label if how in SignIn.values else how,
        "second_factor": devices.KIND_LABELS.get(factor, NO_SECOND_FACTOR),
        "ip": event.ip or "",
    }


def render_profile(request, *, form=None, token_form=None, status=200, **extra):
    """The profile page: personal details, second factors and recent sign-ins, and (for approved users) the personal
    access tokens of the API."""
    if form is None:
        form = ProfileForm(instance=User.objects.get(pk=request.user.pk))
    recent = AuditEvent.objects.sign_ins_of(request.user)[:RECENT_SIGN_INS]
    context = {
        "form": form,
        "devices": devices.device_rows(request.user),
        "sign_ins": [_sign_in_row(event) for event in recent],
        **extra,
    }
    if rights.USE_PORTAL.granted_to(request.user):
        context["token_form"] = token_form or ApiTokenForm()
        context["api_tokens"] = ApiToken.objects.revocable_by(request.user)
    return render(request, "accounts/profile.html", context, status=status)


@sensitive_post_parameters("current_password")
@require_http_methods(["GET", "POST"])
def profile(request):
    # A copy, so that a rejected form leaves request.user (shown in the navigation) unchanged.
    form = ProfileForm(request.POST or None, instance=User.objects.get(pk=request.user.pk))
    if request.method == "POST":
        # The form may check the password: never while the account is locked out.
        if not lockout.password_check_allowed(request, request.user):
            return lockout.lockout_response(request)
        if form.is_valid():
            fields = {name: form.cleaned_data[name] for name in services.PROFILE_FIELDS}
            services.user_update_profile(user=request.user, actor=request.user, context=for_request(request), **fields)
            # The confirmation already in the language just chosen.
            translation.activate(request.user.language or translation.get_language_from_request(request))
            messages.success(request, _("Your profile has been saved."))
            return redirect("accounts:profile")
        locked = lockout.refuse_wrong_password(request, form, "current_password")
        if locked:
            return locked
    return render_profile(request, form=form)
