from django.shortcuts import get_object_or_404
from rest_framework import viewsets

from audit.context import AuditContext, for_request


# Views stay thin: objects come from the queryset verbs (`object_from`), changes go to the services with the request's
# audit context (`audit_context`). (A comment, not a docstring: drf-spectacular would publish it.)
class ApiViewSet(viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"

    def audit_context(self) -> AuditContext:
        return for_request(self.request._request)

    def object_from(self, queryset):
        """The object of the URL among `queryset` (what a queryset verb gives the caller), else 404."""
        return get_object_or_404(queryset, pk=self.kwargs["pk"])
