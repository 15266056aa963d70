from django.urls import path

from accounts.views import auth, profile, users

app_name = "accounts"

urlpatterns = [
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("register/", auth.register, name="register"),
    path("waiting/", auth.waiting, name="waiting"),
    path("password-reset/", auth.password_reset, name="password_reset"),
    path("password-reset/sent/", auth.password_reset_done, name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth.password_reset_confirm, name="password_reset_confirm"),
    path("reset/done/", auth.password_reset_complete, name="password_reset_complete"),
    path("password/", auth.password_change, name="password_change"),
    path("password/done/", auth.password_change_done, name="password_change_done"),
    path("profile/", profile.profile, name="profile"),
    path("users/", users.user_list, name="user_list"),
    path("users/<int:pk>/", users.user_detail, name="user_detail"),
    path("users/<int:pk>/role/", users.user_set_role, name="user_set_role"),
    path("users/<int:pk>/disable/", users.user_disable, name="user_disable"),
    path("users/<int:pk>/enable/", users.user_enable, name="user_enable"),
    path("users/<int:pk>/delete/", users.user_delete, name="user_delete"),
    path("waiting-list/", users.waiting_list, name="waiting_list"),
    path("users/<int:pk>/approve/", users.user_approve, name="user_approve"),
    path("users/<int:pk>/deny/", users.user_deny, name="user_deny"),
]
