import functools

from django.contrib import admin, messages
from django.db.models import F
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from audit.models import Action
from audit.services import audit_record
from connect.services import vm_host_key_reset
from machines.admin_forms import VirtualMachineAdminForm
from machines.models import VirtualMachine
from machines.services import HOST_KEY_ADDRESS_FIELDS, METADATA_FIELDS
from machines.versioning import VERSION_FIELD
from vmlab.admin import OwnerRoleFilter


def record_admin_save(request, vm, form, change, *, host_key_cleared=False):
    """The audit rows machines.services writes for the same change in the portal (names, never values)."""
    record = functools.partial(audit_record, actor=request.user, target=vm, request=request)
    assignee = vm.assigned_to.username if vm.assigned_to else None
    if not change:
        secrets = {"password_set": bool(form.cleaned_data.get("new_password"))}
        secrets["ssh_key_set"] = bool(form.cleaned_data.get("new_ssh_key"))
        details = {"assigned_to": assignee, "shared": vm.shared, **secrets, "via": "admin"}
        record(action=Action.VM_CREATE, details=details)
        return
    changed = set(form.changed_data)
    if "shared" in changed:
        record(action=Action.VM_SHARE, details={"shared": vm.shared, "via": "admin"})
    if "assigned_to" in changed:
        record(action=Action.VM_ASSIGN, details={"assigned_to": assignee, "via": "admin"})
    edited = sorted(changed & {*METADATA_FIELDS, "owner"} - {"shared"})
    if edited:
        details = {"fields": edited, "via": "admin"}
        if host_key_cleared:
            details["host_key_cleared"] = True
        record(action=Action.VM_UPDATE, details=details)
    for field, new_name, remove_name in form.SECRETS:
        if form.cleaned_data.get(new_name):
            record(action=Action.SECRET_SET, details={"field": field, "via": "admin"})
        elif form.cleaned_data.get(remove_name):
            record(action=Action.SECRET_REMOVE, details={"field": field, "via": "admin"})


def record_admin_delete(request, vm):
    details = {"host": vm.host, "via": "admin"}
    audit_record(action=Action.VM_DELETE, actor=request.user, target=vm, request=request, details=details)


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
    # The host key is confirmed by a user who connects (connect.services), never typed in here.
    readonly_fields = ("host_key_fingerprint", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": (*METADATA_FIELDS, VERSION_FIELD)}),
        ("People", {"fields": ("owner", "assigned_to")}),
        ("Secrets (write-only)", {"fields": ("new_password", "remove_password", "new_ssh_key", "remove_ssh_key")}),
        ("SSH host key", {"fields": ("host_key_fingerprint",)}),
        ("History", {"fields": ("created_at", "updated_at")}),
    )
    actions = ("reset_host_keys",)

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return self.fieldsets
        # A new VM has no version to check, no secret to keep or remove, and no history yet.
        return (
            (None, {"fields": METADATA_FIELDS}),
            self.fieldsets[1],
            ("Secrets (write-only)", {"fields": ("new_password", "new_ssh_key")}),
        )

    def get_object(self, request, object_id, from_field=None):
        vm = super().get_object(request, object_id, from_field)
        if vm is None or request.method != "POST":
            return vm
        # Read again under a row lock held until the save commits (the admin wraps a POST in a transaction):
        # the form's version check and the write then see the same VM, with no change slipping in between.
        return self.get_queryset(request).select_for_update().get(pk=vm.pk)

    def save_model(self, request, obj, form, change):
        changed = change and bool(set(form.changed_data) - {VERSION_FIELD})
        host_key_cleared = False
        if change and HOST_KEY_ADDRESS_FIELDS & set(form.changed_data):
            # As machines.services.vm_update does: the key was trusted for the old address.
            host_key_cleared = bool(obj.host_key)
            obj.host_key = obj.host_key_fingerprint = ""
        if changed:
            obj.version = F("version") + 1  # open forms of this VM are now stale
        super().save_model(request, obj, form, change)
        if changed:
            obj.refresh_from_db(fields=["version"])
        record_admin_save(request, obj, form, change, host_key_cleared=host_key_cleared)

    def delete_model(self, request, obj):
        record_admin_delete(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for vm in queryset:
            record_admin_delete(request, vm)
        super().delete_queryset(request, queryset)

    @method_decorator(sensitive_post_parameters("new_password", "new_ssh_key"))
    def changeform_view(self, *args, **kwargs):
        return super().changeform_view(*args, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).without_secrets()

    @admin.action(description="Reset host key")
    def reset_host_keys(self, request, queryset):
        reset = [
            vm.name for vm in queryset if vm_host_key_reset(vm=vm, actor=request.user, request=request, via_admin=True)
        ]
        if reset:
            names = ", ".join(reset)
            self.message_user(request, f"Host key reset, to be confirmed on the next connection: {names}.")
        untouched = len(queryset) - len(reset)
        if untouched:
            self.message_user(request, f"{untouched} of the selected VMs had no stored host key.", messages.INFO)

    @admin.display(description="owner", ordering="owner__username")
    def owner_name(self, vm):
        return vm.owner.username if vm.owner.is_active else f"{vm.owner.username} (disabled)"

    @admin.display(boolean=True, description="password", ordering="has_password")
    def password_set(self, vm):
        return vm.has_password

    @admin.display(boolean=True, description="SSH key", ordering="has_ssh_key")
    def ssh_key_set(self, vm):
        return vm.has_ssh_key
