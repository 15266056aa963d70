"""/api/v1/users/ for managers and admins: the user pages' rights (User.objects verbs), people.services' changes."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from access import rights
from accounts.models import User
from api.filters import UserFilter
from api.permissions import DEFAULT, holding
from api.serializers import RoleSerializer, UserSerializer
from api.views.common import ApiViewSet
from api.views.machines import validated
from people import services


@extend_schema_view(
    list=extend_schema(summary="Every user (managers and admins)"),
    retrieve=extend_schema(summary="One user"),
)
class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    permission_classes = [*DEFAULT, holding(rights.MANAGE_USERS)]
    serializer_class = UserSerializer
    filterset_class = UserFilter

    def get_queryset(self):
        return User.objects.visible_to(self.request.user).order_by("username", "pk")

    def _person(self) -> User:
        return self.object_from(User.objects.visible_to(self.request.user))

    def _answer(self, user: User) -> Response:
        return Response(UserSerializer(User.objects.get(pk=user.pk)).data)

    @extend_schema(summary="Approve a newcomer with a role", request=RoleSerializer, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        user, role = self._person(), validated(RoleSerializer, request.data)["role"]
        services.user_approve(user=user, role=role, actor=request.user, context=self.audit_context())
        return self._answer(user)

    @extend_schema(summary="Change a user's role", request=RoleSerializer, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def role(self, request, pk=None):
        user, role = self._person(), validated(RoleSerializer, request.data)["role"]
        services.user_set_role(user=user, role=role, actor=request.user, context=self.audit_context())
        return self._answer(user)

    @extend_schema(
        summary="Disable a user: no login, no token; their VMs become shared", request=None, responses=UserSerializer
    )
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        user = self._person()
        services.user_disable(user=user, actor=request.user, context=self.audit_context())
        return self._answer(user)

    @extend_schema(summary="Enable a disabled user again", request=None, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        user = self._person()
        services.user_enable(user=user, actor=request.user, context=self.audit_context())
        return self._answer(user)
