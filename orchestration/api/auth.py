"""`/api/auth/token`: a username and password for an API token (POST), and revoking the token
a request is made with (DELETE). Tokens are accounts.ApiToken (django-rest-knox): hashed,
expiring, several per user, named."""

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from orchestration.services.tokens import api_token_create, api_token_revoke

from . import serializers as s
from .authentication import ApiTokenAuthentication
from .throttling import ClientAddressThrottle


class TokenIssueSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, write_only=True, style={"input_type": "password"}
    )
    name = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the token is for (a service's name); tokens of one user are told apart "
        "by it. Each request issues a new token; the others stay valid.",
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text="Send as `Authorization: Token <token>`. Shown only in this answer."
    )
    name = serializers.CharField()
    expiry = serializers.DateTimeField(
        help_text="From then on the token is refused (401); ask for a new one."
    )


INVALID_CREDENTIALS = "Unable to log in with provided credentials."


class TokenView(generics.GenericAPIView):
    """POST issues a new API token for a username and password (throttled per client
    address; a username failing too often from one address is locked out). DELETE revokes
    the token the request is authenticated with."""

    throttle_scope = "auth-token"
    serializer_class = TokenIssueSerializer

    def _issuing(self) -> bool:
        # The schema generator builds its requests through these methods before it has one.
        return getattr(self.request, "method", None) == "POST"

    def get_authenticators(self):
        # POST carries its credentials in the body (a stale Authorization header must not
        # refuse it); DELETE is about the token in the header, so only a token will do.
        return [] if self._issuing() else [ApiTokenAuthentication()]

    def get_permissions(self):
        return [permissions.AllowAny()] if self._issuing() else [permissions.IsAuthenticated()]

    def get_throttles(self):
        return [ClientAddressThrottle()] if self._issuing() else []

    @extend_schema(
        summary="Issue an API token for a username and password",
        auth=[],
        responses={
            200: TokenResponseSerializer,
            400: OpenApiResponse(
                description="Field errors, or `non_field_errors` for wrong credentials."
            ),
            429: OpenApiResponse(
                s.ErrorSerializer,
                description="Too many requests from this address (throttled), or this username "
                "locked out from this address after repeated failed logins (code "
                "`locked_out`); `Retry-After` says when to try again.",
            ),
        },
    )
    def post(self, request):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        # The Django request, so that django-axes' lockout flag lands where its middleware
        # looks: a refused login from a locked-out pair then answers 429 `locked_out`.
        user = authenticate(
            request._request,
            username=body.validated_data["username"],
            password=body.validated_data["password"],
        )
        if user is None:
            raise ValidationError({"non_field_errors": [INVALID_CREDENTIALS]})
        token, secret = api_token_create(user=user, name=body.validated_data["name"])
        # As a login does: the last login is recorded and axes forgets earlier failures.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        return Response(
            TokenResponseSerializer(
                {"token": secret, "name": token.name, "expiry": token.expiry}
            ).data
        )

    @extend_schema(
        summary="Revoke the token this request is authenticated with",
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked: the token is refused from now on."),
            401: OpenApiResponse(s.ErrorSerializer, description="No valid token."),
        },
    )
    def delete(self, request):
        api_token_revoke(token=request.auth, actor=request.user, reason="logout")
        return Response(status=status.HTTP_204_NO_CONTENT)
