from django.contrib import admin

from bookmarks.forms import BookmarkAdminForm
from bookmarks.models import Bookmark
from vmlab.admin import OwnerRoleFilter


@admin.register(Bookmark)
class BookmarkAdmin(admin.ModelAdmin):
    form = BookmarkAdminForm
    list_display = ("name", "link", "tags", "owner", "updated_at")
    list_filter = (OwnerRoleFilter,)
    list_select_related = ("owner",)
    search_fields = ("name", "link", "tags", "description", "owner__username")
    autocomplete_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")
