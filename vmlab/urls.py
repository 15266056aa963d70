from django.contrib import admin
from django.urls import include, path

from vmlab import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/", include("accounts.urls")),
    path("machines/", include("machines.urls")),
    path("bookmarks/", include("bookmarks.urls")),
    path("admin/", admin.site.urls),
]
