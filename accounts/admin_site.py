"""The Django admin's site: its login asks for the second factor like the portal's, and a session that has not
passed the user's second factor is not let in."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache


class AdminSite(admin.AdminSite):
    def has_permission(self, request):
        if not super().has_permission(request):
            return False
        from accounts.two_factor.devices import has_second_factor  # models are not loaded when sites are built

        return request.user.is_verified() or not has_second_factor(request.user)

    @method_decorator(never_cache)
    @login_not_required
    def login(self, request, extra_context=None):
        """Django's own admin login, whose password step goes on to accounts' second step."""
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        from accounts.views.auth import AdminLoginView

        context = {
            **self.each_context(request),
            "title": _("Log in"),
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name
        return AdminLoginView.as_view(
            extra_context=context, authentication_form=self.login_form, template_name="admin/login.html"
        )(request)


class VMLabAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.AdminSite"
