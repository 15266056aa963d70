from django.urls import path

from accounts.views import auth, profile, second_factor, tokens, two_factor

app_name = "accounts"

urlpatterns = [
    path("login/", auth.login_view, name="login"),
    path("login/local/", auth.login_break_glass, name="login_break_glass"),
    path("login/code/", second_factor.second_factor, name="second_factor"),
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
    path("two-factor/", two_factor.two_factor, name="two_factor"),
    path("two-factor/totp/", two_factor.totp_enrol, name="two_factor_totp"),
    path("two-factor/remove/", two_factor.device_remove, name="two_factor_remove"),
    path("two-factor/backup-codes/", two_factor.backup_codes_regenerate, name="two_factor_backup_codes"),
    path("profile/tokens/", tokens.token_create, name="token_create"),
    path("profile/tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
]
