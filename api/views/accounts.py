"""/api/v1/me/ and /api/v1/tokens/: the caller's own account and personal access tokens (accounts.tokens)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import tokens
from accounts.models import ApiToken
from api.permissions import DEFAULT, SessionOnly, SignedIn, TokenScope
from api.serializers import MeSerializer, NewTokenSerializer, TokenSerializer
from api.views.common import ApiViewSet
from api.views.machines import validated


class MeView(APIView):
    permission_classes = [SignedIn, TokenScope]

    @extend_schema(summary="Your own account, and the token of this request", responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user, context={"request": request}).data)


@extend_schema_view(
    list=extend_schema(summary="Your tokens, revoked and expired ones included"),
    retrieve=extend_schema(summary="One of your tokens (never the token itself)"),
)
class TokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    permission_classes = [*DEFAULT, SessionOnly]
    serializer_class = TokenSerializer

    def get_queryset(self):
        return ApiToken.objects.revocable_by(self.request.user)

    @extend_schema(
        summary="Create a token (in a browser session only): the answer shows it once",
        request=TokenSerializer,
        responses={201: NewTokenSerializer},
    )
    def create(self, request):
        data = validated(TokenSerializer, request.data)
        token, plaintext = tokens.token_create(
            user=request.user,
            name=data["name"],
            scope=data["scope"],
            expires_in_days=data.get("expires_in_days"),
            context=self.audit_context(),
        )
        response = Response(NewTokenSerializer(token, context={"plaintext": plaintext}).data, status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(summary="Revoke one of your tokens", responses={204: None})
    def destroy(self, request, pk=None):
        token = self.object_from(ApiToken.objects.revocable_by(request.user))
        tokens.token_revoke(token=token, actor=request.user, context=self.audit_context())
        return Response(status=status.HTTP_204_NO_CONTENT)
