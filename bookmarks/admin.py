from django.contrib import admin

from accounts.admin_filters import OwnerRoleFilter
from audit.context import for_admin_request
from bookmarks import services
from bookmarks.forms import BookmarkAdminForm
from bookmarks.models import Bookmark
from vmlab.core.admin import WritesThroughServices


@admin.register(Bookmark)
class BookmarkAdmin(WritesThroughServices, admin.ModelAdmin):
    form = BookmarkAdminForm
    list_display = ("name", "link", "tags", "owner", "updated_at")
    list_filter = (OwnerRoleFilter,)
    list_select_related = ("owner",)
    search_fields = ("name", "link", "tags", "description", "owner__username")
    autocomplete_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request):
        return Bookmark.objects.administrable_by(request.user).select_related("owner")

    def save_model(self, request, obj, form, change):
        # Through bookmarks.services, as the portal's changes.
        values = {name: form.cleaned_data[name] for name in ("name", "link", "tags", "description")}
        owner, context = form.cleaned_data["owner"], for_admin_request(request)
        if change:
            services.bookmark_update(bookmark=obj, actor=request.user, owner=owner, context=context, **values)
            return
        created = services.bookmark_create(owner=owner, actor=request.user, context=context, **values)
        self.adopt(obj, created)

    def delete_model(self, request, obj):
        services.bookmark_delete(bookmark=obj, actor=request.user, context=for_admin_request(request))
