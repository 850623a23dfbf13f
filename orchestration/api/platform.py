"""The platform's clients and integrations: read by whoever sees the organization's runs,
configured (connector, its settings, credentials) by its managers and admins."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from orchestration.models import Client, Integration
from orchestration.platform.integration_settings import (
    IntegrationSettingsSerializer,
    integration_settings_save,
    may_configure,
)
from orchestration.selectors.platform import client_list, integration_list

from .serializers import ErrorSerializer

NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such record in your organizations.")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Needs the manager or admin role.")
BAD_INPUT = OpenApiResponse(description="Field errors: {field: [messages]}.")
# Named in the schema's ENUM_NAME_OVERRIDES (a run's status is the other `status`).
CLIENT_STATUSES = Client.Status.choices


class CredentialsStateSerializer(serializers.Serializer):
    set = serializers.BooleanField()
    header = serializers.CharField(allow_null=True)


class IntegrationSerializer(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.name", read_only=True)
    records = serializers.IntegerField(source="record_count", read_only=True)
    credentials = serializers.SerializerMethodField()

    class Meta:
        model = Integration
        fields = [
            "id",
            "client",
            "client_name",
            "platform",
            "connector",
            "config",
            "credentials",
            "cursor",
            "last_sync",
            "last_synced_at",
            "records",
            "created_at",
        ]
        read_only_fields = fields

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
