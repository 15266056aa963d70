from django.urls import path

from accounts.views import passkeys

# The names django-otp-webauthn's template tags reverse.
app_name = "otp_webauthn"

urlpatterns = [
    path("registration/begin/", passkeys.register_begin, name="credential-registration-begin"),
    path("registration/complete/", passkeys.register_complete, name="credential-registration-complete"),
    path("authentication/begin/", passkeys.authenticate_begin, name="credential-authentication-begin"),
    path("authentication/complete/", passkeys.authenticate_complete, name="credential-authentication-complete"),
    path("jsi18n/", passkeys.javascript_catalog, name="js-i18n-catalog"),
]
