"""The user pages' forms: a role to give, and the user list's filters."""

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from access.roles import Role
from machines.forms import AccessEndField, end_help
from vmlab.core.search import QUERY_MAX_LENGTH


class RoleForm(forms.Form):
    """Choose one of the roles the acting user may give."""

    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args, roles: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role, Role(role).label) for role in roles]


class UserFilterForm(forms.Form):
    STATE_ACTIVE, STATE_DISABLED, STATE_ALL = "active", "disabled", "all"

    q = forms.CharField(label=_("Search"), required=False, max_length=QUERY_MAX_LENGTH)
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("All roles")), *Role.choices])
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[(STATE_ALL, _("All")), (STATE_ACTIVE, _("Active")), (STATE_DISABLED, _("Disabled"))],
    )

    def filter(self, queryset):
        """`queryset` narrowed by the valid filters; invalid values are ignored rather than shown as errors."""
        self.is_valid()
        data = self.cleaned_data
        if data.get("role"):
            queryset = queryset.with_role(data["role"])
        if data.get("state") == self.STATE_ACTIVE:
            queryset = queryset.active()
        elif data.get("state") == self.STATE_DISABLED:
            queryset = queryset.disabled()
        return queryset


class AccessEndForm(forms.Form):
    access_expires_at = AccessEndField(
        label=_("Access ends"),
        required=False,
        # Lazy: end_help formats its text, which at import time would fix it in the default language.
        help_text=lazy(end_help, str)(_("From then on the account cannot log in and its VMs leave its reach.")),
    )
