from django.urls import path

from accounts.views import oidc

app_name = "oidc"

urlpatterns = [
    path("authenticate/", oidc.start, name="authenticate"),
    path("callback/", oidc.callback, name="callback"),
]
