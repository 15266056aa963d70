from django.urls import path

from bookmarks import views

app_name = "bookmarks"

urlpatterns = [
    path("", views.bookmark_list, name="list"),
    path("new/", views.bookmark_create, name="create"),
    path("<int:pk>/edit/", views.bookmark_edit, name="edit"),
    path("<int:pk>/delete/", views.bookmark_delete, name="delete"),
    path("import/", views.bookmark_import, name="import"),
    path("export/", views.bookmark_export, name="export"),
]
