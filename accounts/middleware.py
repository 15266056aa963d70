from django.shortcuts import redirect
from django.utils import timezone

from access.roles import Role


def new_user_allowed(view_func):
    """Mark a view that users awaiting approval may open (the waiting page, logout)."""
    view_func.new_user_allowed = True
    return view_func


class ApprovedUserRequiredMiddleware:
    """Users awaiting approval see the waiting page and nothing else (PRODUCT.md §3).

    Runs after LoginRequiredMiddleware, so anonymous visitors have already been sent to the login
    page; views open to everyone (@login_not_required) stay open.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.role != Role.NEW_USER:
            return None
        if getattr(view_func, "new_user_allowed", False) or not getattr(view_func, "login_required", True):
            return None
        return redirect("accounts:waiting")


class UserTimeZoneMiddleware:
    """Dates and times in the user's own time zone (their profile setting); the site's TIME_ZONE otherwise."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.time_zone:
            return self.get_response(request)
        with timezone.override(user.zone):
            return self.get_response(request)
