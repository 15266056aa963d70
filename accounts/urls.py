# PLACEHOLDER: replaced by the real views of this app.
from django.http import Http404
from django.urls import path

app_name = "accounts"


def _todo(request, **kwargs):
    raise Http404


urlpatterns = [
    path("login/", _todo, name="login"),
    path("logout/", _todo, name="logout"),
    path("register/", _todo, name="register"),
    path("waiting/", _todo, name="waiting"),
    path("password-reset/", _todo, name="password_reset"),
    path("password-reset/sent/", _todo, name="password_reset_done"),
    path("reset/<uidb64>/<token>/", _todo, name="password_reset_confirm"),
    path("reset/done/", _todo, name="password_reset_complete"),
    path("password/", _todo, name="password_change"),
    path("password/done/", _todo, name="password_change_done"),
    path("profile/", _todo, name="profile"),
    path("users/", _todo, name="user_list"),
    path("users/<int:pk>/", _todo, name="user_detail"),
    path("users/<int:pk>/role/", _todo, name="user_set_role"),
    path("users/<int:pk>/disable/", _todo, name="user_disable"),
    path("users/<int:pk>/enable/", _todo, name="user_enable"),
    path("users/<int:pk>/delete/", _todo, name="user_delete"),
    path("waiting-list/", _todo, name="waiting_list"),
    path("users/<int:pk>/approve/", _todo, name="user_approve"),
    path("users/<int:pk>/deny/", _todo, name="user_deny"),
]
