"""The Django admin's user list: every change goes through the services the portal's user pages use."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from access.checks import allowed
from access.rights import grantable_roles
from access.roles import Role
from accounts import services as account_services
from accounts.models import User
from accounts.two_factor import services as two_factor_services
from audit.context import for_admin_request
from people import services
from vmlab.core.admin import WritesThroughServices


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email", "role")


def _future_or_none(form):
    expires_at = form.cleaned_data["access_expires_at"]
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError(_("Choose a moment in the future, or disable the account."))
    return expires_at


@admin.register(User)
class UserAdmin(WritesThroughServices, DjangoUserAdmin):
    add_form = UserCreationForm
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "role",
        "sign_in",
        "is_active",
        "access_expires_at",
        "last_login",
    )
    list_filter = ("role", "sign_in", "is_active")
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("username",)
    readonly_fields = (
        *("is_active", "is_staff", "is_superuser", "last_login", "date_joined", "updated_at"),
        *("sign_in", "oidc_subject"),
    )
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (
            _("Access"),
            {
                "fields": (
                    *("role", "is_active", "access_expires_at", "is_staff", "is_superuser"),
                    *("sign_in", "oidc_subject"),
                ),
                "description": _(
                    "Admin rights (staff, superuser) follow the role: only admins get them. "
                    "To approve, change the role, disable or enable the account, use the actions of "
                    "the user list: they apply the lab's rules, and disabling also shares the "
                    "user's VMs so that the lab keeps access to them. From the moment its access ends "
                    "(empty: never) the account is treated as disabled, without anything being changed."
                ),
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined", "updated_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "email", "role", "password1", "password2")}),)
    actions = (
        "approve_as_regular",
        "approve_as_sidekick",
        "approve_as_manager",
        "set_role_regular",
        "set_role_sidekick",
        "set_role_manager",
        "disable",
        "enable",
        "reset_two_factor",
    )

    def get_readonly_fields(self, request, obj=None):
        # Roles change through the actions, which apply the rules of PRODUCT.md §3; nobody sets their own end.
        if obj is None:
            return self.readonly_fields
        own = ("access_expires_at",) if obj.pk == request.user.pk else ()
        return (*self.readonly_fields, "role", *own)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            grantable = grantable_roles(request.user)
            form.base_fields["role"].choices = [(role, Role(role).label) for role in grantable]
        elif "access_expires_at" in form.base_fields:
            form.clean_access_expires_at = _future_or_none
        return form

    def get_actions(self, request):
        # Deleting is for disabled users only (one by one, from their page), never a bulk action.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        may_delete = obj is None or allowed(User.objects.deletable_by, request.user, obj)
        return super().has_delete_permission(request, obj) and may_delete

    def delete_model(self, request, obj):
        # The service applies the rules of PRODUCT.md §3 and writes the audit row.
        services.user_delete(user=obj, actor=request.user, context=for_admin_request(request))

    @sensitive_variables()  # the typed password
    def save_model(self, request, obj, form, change):
        context = for_admin_request(request)
        if change:
            fields = {name: form.cleaned_data[name] for name in account_services.PERSONAL_FIELDS}
            account_services.user_update_profile(user=obj, actor=request.user, context=context, **fields)
            if "access_expires_at" in form.changed_data:
                expires_at = form.cleaned_data["access_expires_at"]
                services.user_set_access_expiry(user=obj, actor=request.user, expires_at=expires_at, context=context)
            return
        data = form.cleaned_data
        password = data["password1"] if data["set_usable_password"] else None
        created = account_services.user_create(
            actor=request.user,
            username=data["username"],
            email=data["email"],
            role=data["role"],
            password=password,
            context=context,
        )
        self.adopt(obj, created)

    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, unquote(id))  # None for an unknown or malformed id: super() says 404
        response = super().user_change_password(request, id, form_url)
        if user is not None and User.objects.values_list("password", flat=True).get(pk=user.pk) != user.password:
            account_services.user_password_changed(
                user=user, actor=request.user, how="admin", context=for_admin_request(request)
            )
        return response

    def _apply(self, request, queryset, service, *, done_message, history, **kwargs):
        """Run `service` per user, report refusals one by one, and note each change in its History. `done_message`
        gives the success message for a count of users."""
        done = 0
        for user in queryset:
            try:
                service(user=user, actor=request.user, context=for_admin_request(request), **kwargs)
            except PermissionDenied as refusal:
                self.message_user(request, str(refusal), messages.WARNING)
                continue
            self.log_change(request, user, history)
            done += 1
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)

    def _approve(self, request, queryset, role):
        self._apply(
            request,
            queryset,
            services.user_approve,
            done_message=lambda count: (
                ngettext("%(count)d user(s) approved as %(role)s.", "%(count)d user(s) approved as %(role)s.", count)
                % {"count": count, "role": Role(role).label}
            ),
            history=_("Approved as %(role)s.") % {"role": Role(role).label},
            role=role,
        )

    @admin.action(description=_("Approve selected users as regular"))
    def approve_as_regular(self, request, queryset):
        self._approve(request, queryset, Role.REGULAR)

    @admin.action(description=_("Approve selected users as sidekick"))
    def approve_as_sidekick(self, request, queryset):
        self._approve(request, queryset, Role.SIDEKICK)

    @admin.action(description=_("Approve selected users as manager"))
    def approve_as_manager(self, request, queryset):
        self._approve(request, queryset, Role.MANAGER)

    def _set_role(self, request, queryset, role):
        self._apply(
            request,
            queryset,
            services.user_set_role,
            done_message=lambda count: (
                ngettext("%(count)d user(s) are now %(role)s.", "%(count)d user(s) are now %(role)s.", count)
                % {"count": count, "role": Role(role).label}
            ),
            history=_("Role changed to %(role)s.") % {"role": Role(role).label},
            role=role,
        )

    @admin.action(description=_("Change role of selected users to regular"))
    def set_role_regular(self, request, queryset):
        self._set_role(request, queryset, Role.REGULAR)

    @admin.action(description=_("Change role of selected users to sidekick"))
    def set_role_sidekick(self, request, queryset):
        self._set_role(request, queryset, Role.SIDEKICK)

    @admin.action(description=_("Change role of selected users to manager"))
    def set_role_manager(self, request, queryset):
        self._set_role(request, queryset, Role.MANAGER)

    @admin.action(description=_("Disable selected users (their VMs become shared)"))
    def disable(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.user_disable,
            done_message=lambda count: (
                ngettext(
                    "%(count)d user(s) disabled; their VMs are now shared.",
                    "%(count)d user(s) disabled; their VMs are now shared.",
                    count,
                )
                % {"count": count}
            ),
            history=_("Disabled; VMs made shared."),
        )

    @admin.action(description=_("Enable selected users"))
    def enable(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.user_enable,
            done_message=lambda count: (
                ngettext("%(count)d user(s) enabled.", "%(count)d user(s) enabled.", count) % {"count": count}
            ),
            history=_("Enabled."),
        )

    @admin.action(description=_("Reset the second factors of selected users (a lost phone)"))
    def reset_two_factor(self, request, queryset):
        def done_message(count):
            return ngettext(
                "Second factors reset for %(count)d user(s): they set a new one up at their next sign-in.",
                "Second factors reset for %(count)d user(s): they set a new one up at their next sign-in.",
                count,
            ) % {"count": count}

        self._apply(
            request,
            queryset,
            two_factor_services.devices_reset,
            done_message=done_message,
            history=_("Second factors reset."),
        )
