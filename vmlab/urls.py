from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

# Until the portal exists there is no site to view besides the admin itself.
admin.site.site_url = None

urlpatterns = [
    path("admin/", admin.site.urls),
    # Until the portal exists, the Django admin is the whole user interface.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
