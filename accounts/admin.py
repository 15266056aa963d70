from django.contrib import admin
from django.contrib.auth.models import Group

from accounts.forms import AdminLoginForm

# Roles decide every right in VM Lab; Django's groups and permissions are not used.
admin.site.unregister(Group)
admin.site.login_form = AdminLoginForm
# The User admin is in people/admin.py: its actions approve, disable and delete people with their VMs (people.services).
