from django.contrib import admin
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.forms import AdminLoginForm

# Roles decide every right in VM Lab; Django's groups and permissions are not used.
admin.site.unregister(Group)
# django-otp's page for authenticator apps shows their secrets (and QR codes): admins reset a user's second factors
# with the user list's action instead, and never see them.
admin.site.unregister(TOTPDevice)
admin.site.login_form = AdminLoginForm
# The User admin is in people/admin.py: its actions approve, disable and delete people with their VMs (people.services).
