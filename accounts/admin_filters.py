from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from access.roles import Role


class OwnerRoleFilter(admin.SimpleListFilter):
    """Filter objects by their owner's role (the plain `owner__role` filter is titled just "role")."""

    title = _("owner's role")
    parameter_name = "owner_role"

    def lookups(self, request, model_admin):
        return Role.choices

    def queryset(self, request, queryset):
        return queryset.filter(owner__role=self.value()) if self.value() else queryset
