# PLACEHOLDER: replaced by the real views of this app.
from django.http import Http404
from django.urls import path

app_name = "bookmarks"


def _todo(request, **kwargs):
    raise Http404


urlpatterns = [
    path("", _todo, name="list"),
    path("new/", _todo, name="create"),
    path("<int:pk>/edit/", _todo, name="edit"),
    path("<int:pk>/delete/", _todo, name="delete"),
    path("import/", _todo, name="import"),
    path("export/", _todo, name="export"),
]
