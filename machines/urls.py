# PLACEHOLDER: replaced by the real views of this app.
from django.http import Http404
from django.urls import path

app_name = "machines"


def _todo(request, **kwargs):
    raise Http404


urlpatterns = [
    path("new/", _todo, name="create"),
    path("<int:pk>/", _todo, name="detail"),
    path("<int:pk>/edit/", _todo, name="edit"),
    path("<int:pk>/delete/", _todo, name="delete"),
    path("<int:pk>/password/", _todo, name="password"),
    path("<int:pk>/ssh-key/", _todo, name="ssh_key"),
    path("<int:pk>/share/", _todo, name="share"),
    path("<int:pk>/assign/", _todo, name="assign"),
    path("<int:pk>/reveal/", _todo, name="reveal"),
    path("<int:pk>/ssh-config/", _todo, name="ssh_config"),
]
