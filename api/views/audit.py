"""/api/v1/audit/ for admins: the /audit/ page's events and filters (audit.forms.AuditFilterForm)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins

from access import rights
from api.permissions import DEFAULT, holding
from api.serializers import AuditEventSerializer
from api.views.common import ApiViewSet
from audit.forms import AuditFilterForm
from audit.models import Action, AuditEvent

FILTERS = [
    OpenApiParameter("q", OpenApiTypes.STR, description="Words in the actor, target or IP address."),
    OpenApiParameter("action", OpenApiTypes.STR, enum=Action.values),
    OpenApiParameter("actor", OpenApiTypes.STR, description="Part of the actor's name."),
    OpenApiParameter("target_type", OpenApiTypes.STR, description="e.g. machines.virtualmachine"),
    OpenApiParameter("target_id", OpenApiTypes.STR),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="From this day (TIME_ZONE), included."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="To this day, included."),
]


@extend_schema_view(
    list=extend_schema(summary="The audit trail, newest first (admins)", parameters=FILTERS),
    retrieve=extend_schema(summary="One audit event"),
)
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    permission_classes = [*DEFAULT, holding(rights.VIEW_AUDIT)]
    serializer_class = AuditEventSerializer
    filter_backends = []

    def get_queryset(self):
        return AuditEvent.objects.all()

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        form = AuditFilterForm(self.request.query_params)
        if not form.is_valid():
            raise DjangoValidationError(form.errors)
        return form.filter(queryset)
