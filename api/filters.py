"""Query parameters of the lists, each applied by the model's own queryset verbs (search, owned_by, tagged, …)."""

import django_filters
from django.utils.translation import gettext_lazy as _

from access.roles import Role
from accounts.models import User
from bookmarks.models import Bookmark
from machines.models import VirtualMachine
from vmlab.core.search import QUERY_MAX_LENGTH


class StrictBooleanFilter(django_filters.ChoiceFilter):
    """true or false, and nothing else: django-filter's BooleanFilter ignores a value it cannot read (?shared=maybe
    would list everything), where a caller must be told."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, choices=[("true", "true"), ("false", "false")], **kwargs)

    def filter(self, qs, value):
        return super().filter(qs, {"true": True, "false": False}.get(value, value))


def _search(queryset, name, value):
    return queryset.search(value.strip()[:QUERY_MAX_LENGTH])


class VirtualMachineFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method=_search, help_text=_("Words that must all appear in the name, host, SSH user, owner or assignee.")
    )
    owner = django_filters.CharFilter(method="by_owner", help_text=_("The owner's username."))
    assigned_to = django_filters.CharFilter(method="by_assignee", help_text=_("The assignee's username."))
    shared = StrictBooleanFilter(field_name="shared")
    assigned = StrictBooleanFilter(method="by_assigned", help_text=_("Assigned to someone (true), or to nobody."))

    class Meta:
        model = VirtualMachine
        fields = ["q", "owner", "assigned_to", "shared", "assigned"]

    def by_owner(self, queryset, name, value):
        return queryset.owned_by(value)

    def by_assignee(self, queryset, name, value):
        return queryset.assigned_to_user(value)

    def by_assigned(self, queryset, name, value):
        return queryset.filter(assigned_to__isnull=not value)


class BookmarkFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method=_search, help_text=_("Words that must all appear in the name, link, tags or description.")
    )
    tag = django_filters.CharFilter(method="by_tag", help_text=_("Bookmarks carrying exactly this tag."))

    class Meta:
        model = Bookmark
        fields = ["q", "tag"]

    def by_tag(self, queryset, name, value):
        return queryset.tagged(value[:QUERY_MAX_LENGTH])


class UserFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method=_search, help_text=_("Words in the username, e-mail or name."))
    role = django_filters.ChoiceFilter(choices=Role.choices, method="by_role")
    state = django_filters.ChoiceFilter(
        choices=[("active", _("Active")), ("disabled", _("Disabled")), ("waiting", _("Waiting for approval"))],
        method="by_state",
    )

    class Meta:
        model = User
        fields = ["q", "role", "state"]

    def by_role(self, queryset, name, value):
        return queryset.with_role(value)

    def by_state(self, queryset, name, value):
        return {"active": queryset.active, "disabled": queryset.disabled, "waiting": queryset.awaiting_approval}[
            value
        ]()
