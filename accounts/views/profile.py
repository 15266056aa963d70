from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts import lockout, services
from accounts.forms import ProfileForm
from accounts.models import User
from audit.context import for_request


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
            messages.success(request, _("Your profile has been saved."))
            return redirect("accounts:profile")
        locked = lockout.refuse_wrong_password(request, form, "current_password")
        if locked:
            return locked
    return render(request, "accounts/profile.html", {"form": form})
