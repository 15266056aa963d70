from django.contrib import admin, messages
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from accounts.admin_filters import OwnerRoleFilter
from audit.context import for_admin_request
from machines import services
from machines.admin_forms import VirtualMachineAdminForm
from machines.models import VirtualMachine
from machines.services import ASSIGNMENT_FIELDS, METADATA_FIELDS, PEOPLE_FIELDS
from machines.versioning import VERSION_FIELD
from vmlab.core.admin import WritesThroughServices


@admin.register(VirtualMachine)
class VirtualMachineAdmin(WritesThroughServices, admin.ModelAdmin):
    form = VirtualMachineAdminForm
    list_display = (
        "name",
        "host",
        "port",
        "username",
        "owner_name",
        "assigned_to",
        "assigned_until",
        "shared",
        "password_set",
        "ssh_key_set",
    )
    list_filter = ("shared", OwnerRoleFilter)
    list_select_related = ("owner", "assigned_to")
    search_fields = ("name", "host", "username", "owner__username", "assigned_to__username")
    autocomplete_fields = ("owner", "assigned_to")
    # The host key is confirmed by a user who connects (connect.services), never typed in here.
    readonly_fields = ("host_key_fingerprint", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": (*METADATA_FIELDS, VERSION_FIELD)}),
        (gettext_lazy("People"), {"fields": ("owner", "assigned_to", "assigned_until")}),
        (
            gettext_lazy("Secrets (write-only)"),
            {"fields": ("new_password", "remove_password", "new_ssh_key", "remove_ssh_key")},
        ),
        (gettext_lazy("SSH host key"), {"fields": ("host_key_fingerprint",)}),
        (gettext_lazy("History"), {"fields": ("created_at", "updated_at")}),
    )
    actions = ("reset_host_keys",)

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return self.fieldsets
        # A new VM has no version to check, no secret to keep or remove, and no history yet.
        return (
            (None, {"fields": METADATA_FIELDS}),
            self.fieldsets[1],
            (gettext_lazy("Secrets (write-only)"), {"fields": ("new_password", "new_ssh_key")}),
        )

    def get_object(self, request, object_id, from_field=None):
        vm = super().get_object(request, object_id, from_field)
        if vm is None or request.method != "POST":
            return vm
        # Read again under a row lock held until the save commits (the admin wraps a POST in a transaction):
        # the form's version check and the write then see the same VM, with no change slipping in between.
        return self.get_queryset(request).select_for_update().get(pk=vm.pk)

    @sensitive_variables()  # the typed secrets
    def save_model(self, request, obj, form, change):
        # Every write goes through machines.services, as the portal's do; the audit rows say "via": "admin".
        values = {name: form.cleaned_data[name] for name in (*METADATA_FIELDS, *PEOPLE_FIELDS, *ASSIGNMENT_FIELDS)}
        secrets = form.secret_changes()
        context = for_admin_request(request)
        if change:
            version = form.cleaned_data[VERSION_FIELD]
            services.vm_update(
                vm=obj, actor=request.user, expected_version=version, context=context, **values, **secrets
            )
            return
        created = services.vm_create(actor=request.user, context=context, **values, **secrets)
        self.adopt(obj, created)

    def delete_model(self, request, obj):
        services.vm_delete(vm=obj, actor=request.user, context=for_admin_request(request))

    @method_decorator(sensitive_post_parameters("new_password", "new_ssh_key"))
    def changeform_view(self, *args, **kwargs):
        return super().changeform_view(*args, **kwargs)

    def get_queryset(self, request):
        return VirtualMachine.objects.administrable_by(request.user).without_secrets()

    @admin.action(description=gettext_lazy("Reset host key"))
    def reset_host_keys(self, request, queryset):
        context = for_admin_request(request)
        reset = [vm.name for vm in queryset if services.vm_host_key_reset(vm=vm, actor=request.user, context=context)]
        if reset:
            names = ", ".join(reset)
            self.message_user(
                request, _("Host key reset, to be confirmed on the next connection: %(names)s.") % {"names": names}
            )
        untouched = len(queryset) - len(reset)
        if untouched:
            message = ngettext(
                "%(count)d of the selected VMs had no stored host key.",
                "%(count)d of the selected VMs had no stored host key.",
                untouched,
            )
            self.message_user(request, message % {"count": untouched}, messages.INFO)

    @admin.display(description=gettext_lazy("owner"), ordering="owner__username")
    def owner_name(self, vm):
        return (
            vm.owner.username if vm.owner.is_active else _("%(username)s (disabled)") % {"username": vm.owner.username}
        )

    @admin.display(boolean=True, description=gettext_lazy("password"), ordering="has_password")
    def password_set(self, vm):
        return vm.has_password

    @admin.display(boolean=True, description=gettext_lazy("SSH key"), ordering="has_ssh_key")
    def ssh_key_set(self, vm):
        return vm.has_ssh_key
