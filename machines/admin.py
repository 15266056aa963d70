from django.contrib import admin
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from machines.admin_forms import VirtualMachineAdminForm
from machines.models import VirtualMachine
from vmlab.admin import OwnerRoleFilter


@admin.register(VirtualMachine)
class VirtualMachineAdmin(admin.ModelAdmin):
    form = VirtualMachineAdminForm
    list_display = (
        "name",
        "host",
        "port",
        "username",
        "owner_name",
        "assigned_to",
        "shared",
        "password_set",
        "ssh_key_set",
    )
    list_filter = ("shared", OwnerRoleFilter)
    list_select_related = ("owner", "assigned_to")
    search_fields = ("name", "host", "username", "owner__username", "assigned_to__username")
    autocomplete_fields = ("owner", "assigned_to")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "host", "port", "username", "shared")}),
        ("People", {"fields": ("owner", "assigned_to")}),
        ("Secrets (write-only)", {"fields": ("new_password", "remove_password", "new_ssh_key", "remove_ssh_key")}),
        ("History", {"fields": ("created_at", "updated_at")}),
    )

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return self.fieldsets
        # A new VM has no secret to keep or remove, and no history yet.
        return (*self.fieldsets[:2], ("Secrets (write-only)", {"fields": ("new_password", "new_ssh_key")}))

    @method_decorator(sensitive_post_parameters("new_password", "new_ssh_key"))
    def changeform_view(self, *args, **kwargs):
        return super().changeform_view(*args, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).without_secrets()

    @admin.display(description="owner", ordering="owner__username")
    def owner_name(self, vm):
        return vm.owner.username if vm.owner.is_active else f"{vm.owner.username} (disabled)"

    @admin.display(boolean=True, description="password", ordering="has_password")
    def password_set(self, vm):
        return vm.has_password

    @admin.display(boolean=True, description="SSH key", ordering="has_ssh_key")
    def ssh_key_set(self, vm):
        return vm.has_ssh_key
