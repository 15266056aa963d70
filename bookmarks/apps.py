from django.apps import AppConfig


class BookmarksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "bookmarks"
    verbose_name = "Bookmarks"
