from django.urls import path

from accounts.views import passkeys

# The names django-otp-webauthn's template tags reverse.
app_name = "otp_webauthn"

urlpatterns = [
    path("registration/begin/", passkeys.register_begin, name="credential-registration-begin"),
    path("registration/complete/", passkeys.register_complete, name="credential-registration-complete"),
    path("authentication/begin/", passkeys.authenticate_begin, name="credential-authentication-begin"),
    path("authentication/complete/", passkeys.authenticate_complete, name="credential-authentication-complete"),
    # A signed-in user confirming a reveal with a passkey (VM Lab's own, with the package's views).
    path("confirmation/begin/", passkeys.confirmation_begin, name="confirmation-begin"),
    path("confirmation/complete/", passkeys.confirmation_complete, name="confirmation-complete"),
    path("jsi18n/", passkeys.javascript_catalog, name="js-i18n-catalog"),
]
