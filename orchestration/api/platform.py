"""The platform's clients and integrations: read by whoever sees the organization's runs,
configured (connector, its settings, credentials) by its managers and admins."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestration.models import Client, Integration
from orchestration.platform.connectors import ConnectorFailure, ConnectorUnavailable
from orchestration.platform.integration_check import (
    NotCheckable,
    integration_check,
    integration_streams,
)
from orchestration.platform.integration_settings import (
    IntegrationSettingsSerializer,
    integration_settings_save,
    may_configure,
)
from orchestration.platform.webhooks import (
    Delivery,
    WebhookRefused,
    integration_webhook_disable,
    integration_webhook_enable,
    webhook_delivery_accept,
)
from orchestration.selectors.platform import client_list, integration_list

from .serializers import ErrorSerializer
from .throttling import ClientAddressThrottle

logger = logging.getLogger(__name__)

NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such record in your organizations.")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Needs the manager or admin role.")
BAD_INPUT = OpenApiResponse(description="Field errors: {field: [messages]}.")
# Named in the schema's ENUM_NAME_OVERRIDES (a run's status is the other `status`).
CLIENT_STATUSES = Client.Status.choices


class CredentialsStateSerializer(serializers.Serializer):
    set = serializers.BooleanField()
    header = serializers.CharField(allow_null=True)


class WebhookStateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    scheme = serializers.CharField(help_text="hubspot or omnify; empty when not enabled.")


class IntegrationSerializer(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.name", read_only=True)
    records = serializers.IntegerField(source="record_count", read_only=True)
    credentials = serializers.SerializerMethodField()
    webhook = serializers.SerializerMethodField()

    class Meta:
        model = Integration
        fields = [
            "id",
            "client",
            "client_name",
            "platform",
            "connector",
            "config",
            "streams",
            "credentials",
            "webhook",
            "cursor",
            "last_sync",
            "last_synced_at",
            "records",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema(responses=WebhookStateSerializer)
    def get_webhook(self, integration: Integration) -> dict:
        """Whether deliveries are accepted and how they are signed; never the address (it is
        a credential: only the answer that made it shows it) or the secret."""
        return {"enabled": integration.webhook_id is not None, "scheme": integration.webhook_scheme}

    @extend_schema(responses=CredentialsStateSerializer)
    def get_credentials(self, integration: Integration) -> dict:
        """Whether credentials are set and under which header; never their value."""
        return {
            "set": bool(integration.credentials),
            "header": integration.credentials_header or None,
        }


class ClientSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    integrations = serializers.SerializerMethodField()

    class Meta:
        model = Client
        fields = ["id", "organization", "name", "email", "status", "created_at", "integrations"]
        read_only_fields = fields

    @extend_schema(responses=IntegrationSerializer(many=True))
    def get_integrations(self, client: Client) -> list[dict]:
        return IntegrationSerializer(
            self.context["integrations"].get(client.pk, []), many=True
        ).data


class ClientViewMixin:
    serializer_class = ClientSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return client_list(user=self.request.user).select_related("organization").order_by("pk")

    def serialized(self, clients, many: bool):
        # One query for the integrations of every client shown.
        grouped: dict[int, list[Integration]] = {}
        listed = clients if many else [clients]
        for integration in integration_list(user=self.request.user).filter(
            client__in=[client.pk for client in listed]
        ):
            grouped.setdefault(integration.client_id, []).append(integration)
        context = {**self.get_serializer_context(), "integrations": grouped}
        return ClientSerializer(clients, many=many, context=context).data


class ClientListView(ClientViewMixin, generics.ListAPIView):
    """The clients of the caller's organizations, with their integrations."""

    def list(self, request, *args, **kwargs):
        return self.get_paginated_response(
            self.serialized(self.paginate_queryset(self.get_queryset()), many=True)
        )


@extend_schema(responses={200: ClientSerializer, 404: NOT_FOUND})
class ClientDetailView(ClientViewMixin, generics.RetrieveAPIView):
    """One client of the caller's organizations, with its integrations."""

    def retrieve(self, request, *args, **kwargs):
        return Response(self.serialized(self.get_object(), many=False))


@extend_schema(responses={200: IntegrationSerializer, 404: NOT_FOUND})
class IntegrationDetailView(generics.RetrieveUpdateAPIView):
    """One integration. PATCH (managers and admins) sets its connector, the connector's
    configuration and its credentials (`null` removes them); audited without the secret."""

    serializer_class = IntegrationSerializer
    permission_classes = [IsAuthenticated]
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return integration_list(user=self.request.user)

    @extend_schema(
        request=IntegrationSettingsSerializer,
        responses={200: IntegrationSerializer, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def patch(self, request, *args, **kwargs):
        integration = self.get_object()
        if not may_configure(request.user, integration):
            raise PermissionDenied("Configuring integrations needs the manager or admin role.")
        settings = IntegrationSettingsSerializer(
            data=request.data, partial=True, context={"integration": integration}
        )
        settings.is_valid(raise_exception=True)
        integration_settings_save(
            user=request.user, integration=integration, settings=settings.validated_data
        )
        return Response(self.get_serializer(self.get_object()).data)


class CheckOutcomeSerializer(serializers.Serializer):
    succeeded = serializers.BooleanField()
    message = serializers.CharField(help_text="The connector's own words; secrets masked.")
    seconds = serializers.FloatField()


@extend_schema(
    request=None,
    responses={200: CheckOutcomeSerializer, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND},
)
class IntegrationCheckView(generics.GenericAPIView):
    """Test connection (managers and admins): the integration's Airbyte connector asked
    whether it reaches its source with the integration's settings (`check`), answered within
    30 s with its own message; audited."""

    permission_classes = [IsAuthenticated]
    # It takes no body (OPTIONS describes that, instead of failing for want of a serializer).
    serializer_class = serializers.Serializer

    def get_queryset(self):
        return integration_list(user=self.request.user)

    def post(self, request, *args, **kwargs):
        integration = self.get_object()
        try:
            outcome = integration_check(user=request.user, integration=integration)
        except DjangoPermissionDenied as denied:
            raise PermissionDenied(str(denied)) from None
        except NotCheckable as error:
            raise serializers.ValidationError({"connector": [str(error)]}) from None
        return Response(
            CheckOutcomeSerializer(
                {
                    "succeeded": outcome.succeeded,
                    "message": outcome.message,
                    "seconds": round(outcome.seconds, 2),
                }
            ).data
        )


class StreamOfferedSerializer(serializers.Serializer):
    name = serializers.CharField()
    sync_modes = serializers.ListField(child=serializers.CharField())
    primary_key = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    chosen = serializers.BooleanField(help_text="Read by the integration's syncs.")
    sync_mode = serializers.CharField(allow_null=True, help_text="How they read it.")
    normalization_reads = serializers.BooleanField(
        help_text="Always read: the client's customers are made of it."
    )


class StreamsSerializer(serializers.Serializer):
    streams = StreamOfferedSerializer(many=True)


@extend_schema(
    tags=["platform"],
    responses={
        200: StreamsSerializer,
        400: BAD_INPUT,
        403: FORBIDDEN,
        404: NOT_FOUND,
        503: OpenApiResponse(
            ErrorSerializer, description="The source or its connector can't be reached."
        ),
    },
)
class IntegrationStreamsView(generics.GenericAPIView):
    """The streams the integration's source offers with its settings (the connector's
    `discover`, within 60 s), which its syncs read and how (managers and admins). Choose
    with PATCH .../integrations/{id} `{"streams": {"<name>": "incremental"}}`."""

    permission_classes = [IsAuthenticated]
    serializer_class = StreamsSerializer

    def get_queryset(self):
        return integration_list(user=self.request.user)

    def get(self, request, *args, **kwargs):
        integration = self.get_object()
        try:
            offered = integration_streams(user=request.user, integration=integration)
        except DjangoPermissionDenied as denied:
            raise PermissionDenied(str(denied)) from None
        except NotCheckable as error:
            raise serializers.ValidationError({"connector": [str(error)]}) from None
        except ConnectorFailure as failure:
            raise serializers.ValidationError({"config": [str(failure)]}) from None
        except ConnectorUnavailable as unavailable:
            return Response({"detail": str(unavailable), "code": "source_unavailable"}, status=503)
        return Response(StreamsSerializer({"streams": offered}).data)


class WebhookSetupSerializer(serializers.Serializer):
    scheme = serializers.ChoiceField(
        choices=[
            ("hubspot", "HubSpot's v3 signature, with the HubSpot app's client secret"),
            ("omnify", "X-Omnify-Signature, with a secret the console makes"),
        ],
        help_text="How deliveries are signed.",
    )
    app_secret = serializers.CharField(
        required=False,
        allow_blank=False,
        max_length=500,
        write_only=True,
        help_text="The HubSpot app's client secret (hubspot only; sealed, never shown).",
    )

    def validate(self, data):
        if data["scheme"] == "hubspot" and not data.get("app_secret"):
            raise serializers.ValidationError(
                {"app_secret": ["HubSpot signs with your app's client secret; enter it."]}
            )
        if data["scheme"] == "omnify" and data.get("app_secret"):
            raise serializers.ValidationError(
                {"app_secret": ["The omnify scheme signs with a secret the console makes."]}
            )
        return data


class WebhookEnabledSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Where the source sends its deliveries.")
    scheme = serializers.CharField()
    secret = serializers.CharField(
        allow_null=True, help_text="The signing secret (omnify), shown this once; null for hubspot."
    )


@extend_schema(
    tags=["platform"],
    request=WebhookSetupSerializer,
    responses={201: WebhookEnabledSerializer, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND},
)
class IntegrationWebhookView(generics.GenericAPIView):
    """Real-time updates (managers and admins): POST gives the integration a webhook, a new
    unguessable URL and signing secret (the secret shown in this answer only; any previous
    webhook stops working); DELETE removes it. Both audited."""

    permission_classes = [IsAuthenticated]
    serializer_class = WebhookSetupSerializer

    def get_queryset(self):
        return integration_list(user=self.request.user)

    def post(self, request, *args, **kwargs):
        integration = self.get_object()
        if not may_configure(request.user, integration):
            raise PermissionDenied("Setting up webhooks needs the manager or admin role.")
        setup = WebhookSetupSerializer(data=request.data)
        setup.is_valid(raise_exception=True)
        enabled = integration_webhook_enable(
            user=request.user, integration=integration, **setup.validated_data
        )
        url = request.build_absolute_uri(
            reverse("platform-webhook", kwargs={"webhook_id": enabled.webhook_id})
        )
        answer = {"url": url, "scheme": enabled.scheme, "secret": enabled.secret}
        return Response(WebhookEnabledSerializer(answer).data, status=201)

    @extend_schema(request=None, responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND})
    def delete(self, request, *args, **kwargs):
        integration = self.get_object()
        try:
            integration_webhook_disable(user=request.user, integration=integration)
        except DjangoPermissionDenied as denied:
            raise PermissionDenied(str(denied)) from None
        return Response(status=204)


class WebhookAcceptedSerializer(serializers.Serializer):
    accepted = serializers.BooleanField()
    run = serializers.CharField(help_text="The workflow id of the sync this delivery joined.")


@extend_schema(
    tags=["platform"],
    request={"application/json": dict},
    responses={
        202: WebhookAcceptedSerializer,
        401: OpenApiResponse(ErrorSerializer, description="Unsigned, forged, stale or replayed."),
        404: NOT_FOUND,
        413: OpenApiResponse(ErrorSerializer, description="The body is over the limit."),
        503: OpenApiResponse(ErrorSerializer, description="Temporal is unavailable."),
    },
)
class WebhookDeliveryView(APIView):
    """A source's signed delivery (no login: the signature is the credential). Accepted ones
    join the integration's next sync, which waits a few seconds for more."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ClientAddressThrottle]
    throttle_scope = "webhook"

    def post(self, request, webhook_id: str):
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > settings.OMNIFY_WEBHOOK_MAX_BYTES:
            return _refused(413, f"The body is over {settings.OMNIFY_WEBHOOK_MAX_BYTES} bytes.")
        delivery = Delivery(
            method=request.method,
            url=request.build_absolute_uri(),
            body=request.body,
            headers={name.lower(): value for name, value in request.headers.items()},
        )
        try:
            run = webhook_delivery_accept(webhook_id=webhook_id, delivery=delivery)
        except WebhookRefused as refused:
            logger.warning(
                "webhook delivery refused: %s", refused, extra={"status": refused.http_status}
            )
            return _refused(refused.http_status, str(refused))
        return Response({"accepted": True, "run": run.workflow_id}, status=202)


def _refused(status: int, message: str) -> Response:
    code = {401: "invalid_delivery", 404: "not_found", 413: "too_large"}[status]
    return Response({"detail": message, "code": code}, status=status)
