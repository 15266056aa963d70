from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import tokens
from accounts.forms import AdminLoginForm
from accounts.models import ApiToken, AuthenticatorApp
from audit.context import for_admin_request

# Roles decide every right in VM Lab; Django's groups and permissions are not used.
admin.site.unregister(Group)
admin.site.login_form = AdminLoginForm
# The User admin is in people/admin.py: its actions approve, disable and delete people with their VMs (people.services).


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Every personal access token, never its hash; revoking calls the service (audited, "via": "admin")."""

    list_display = ("name", "user", "scope", "prefix", "created_at", "expires_at", "last_used_at", "last_used_ip")
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("user",)
    search_fields = ("name", "user__username", "prefix")
    fields = ("name", "user", "scope", "prefix", "created_at", "expires_at", "last_used_at", "last_used_ip")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # tokens are shown once to whoever creates them: their owner, on the profile page

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, not deleted: the row keeps when and from where it was used

    def get_queryset(self, request):
        return ApiToken.objects.administrable_by(request.user).defer("digest")

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        revoked = sum(
            tokens.token_revoke(token=token, actor=request.user, context=for_admin_request(request))
            for token in queryset.select_related("user")
        )
        done = ngettext("%(count)d token(s) revoked.", "%(count)d token(s) revoked.", revoked) % {"count": revoked}
        self.message_user(request, done, messages.SUCCESS)


@admin.register(AuthenticatorApp)
class AuthenticatorAppAdmin(admin.ModelAdmin):
    """Who has which authenticator app, since when, last used: never its seed, which is not even loaded. A lost
    phone is handled by the user list's "Reset the second factors" action (audited), not here."""

    list_display = ("name", "user", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    list_select_related = ("user",)
    search_fields = ("name", "user__username")
    fields = list_display
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # set up by its user, who scans the QR code

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return AuthenticatorApp.objects.administrable_by(request.user)
