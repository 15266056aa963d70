from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from accounts import language

urlpatterns = [
    path("", include("dashboard.urls")),
    path("accounts/", include("accounts.urls")),
    # Passkeys: django-otp-webauthn's JSON endpoints (the namespace its template tags expect).
    path("accounts/two-factor/passkeys/", include("accounts.passkey_urls")),
    # OpenID Connect: the redirect to the provider and its answer (the redirect URI to register: /oidc/callback/).
    path("oidc/", include("accounts.oidc_urls")),
    # The user pages keep their addresses under /accounts/; the people app serves them.
    path("accounts/", include("people.urls")),
    path("machines/", include("machines.urls")),
    path("machines/", include("connect.urls")),
    path("bookmarks/", include("bookmarks.urls")),
    path("audit/", include("audit.urls")),
    path("api/", include("api.urls")),
    path("requests/", include("access_requests.urls")),
    path("jobs/", include("jobs.urls")),
    # The admin's own password change would check the current password without the lockout: use the portal's.
    path("admin/password_change/", RedirectView.as_view(pattern_name="accounts:password_change")),
    path("admin/", admin.site.urls),
    # The footer's language switcher, and the JavaScript's strings in the active language.
    path("language/", language.choose_language, name="set_language"),
    path("jsi18n/", language.javascript_catalog, name="javascript-catalog"),
]
