from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from accounts.two_factor import devices, sign_in


def second_factor_step(view_func):
    """Mark a view that a sign-in waiting for its second factor may reach (the code form, the passkey check)."""
    view_func.second_factor_step = True
    return view_func


def enrolment_allowed(view_func):
    """Mark a view that a user who must set up a second factor may reach before they have one."""
    view_func.enrolment_allowed = True
    return view_func


class SecondFactorMiddleware:
    """Half-signed-in sessions see the code form only; users whose role requires a second factor (access.rights.
    MUST_USE_SECOND_FACTOR) and who have none see the two-factor page only.

    Runs before LoginRequiredMiddleware: a session waiting for its code is anonymous, and must not be sent to the
    login page. Costs no query for a session that passed a second factor.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "second_factor_step", False):
            return None
        user = request.user
        if not user.is_authenticated:
            return redirect("accounts:second_factor") if sign_in.has_pending(request) else None
        if getattr(view_func, "enrolment_allowed", False) or user.is_verified():
            return None  # a session that passed a second factor has one
        if not devices.must_set_one_up(user):
            return None
        messages.warning(request, _("Your role needs a second factor: set one up before you go on."))
        return redirect("accounts:two_factor")
