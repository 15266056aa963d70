from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is written by the services, never edited by hand."""

    list_display = ("created_at", "actor_label", "action", "target_type", "target_label", "ip")
    list_filter = ("action", "target_type", "created_at")
    search_fields = ("actor_label", "target_label", "ip")
    date_hierarchy = "created_at"
    list_select_related = ()
    list_per_page = 50
    # The detail page (read-only): who and when first, then what, then from where.
    fields = (
        "created_at",
        "actor",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "ip",
        "user_agent",
        "details",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
