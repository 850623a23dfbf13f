from django.conf import settings
from django.urls import reverse
from rest_framework import exceptions, serializers

from accounts.models import Organization
from accounts.permissions import has_organization_permission
from accounts.roles import WORKFLOW_PERMISSIONS
from orchestration.models import Client, WorkflowRun
from orchestration.temporal.shared import Channel, EyesModel, Platform, WorkflowType


class StrictSerializer(serializers.Serializer):
    """Rejects fields it doesn't know, so a typo is a 400 instead of silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class WorkflowStartSerializer(StrictSerializer):
    """Common to every start: the organization, checked for the caller's permission before
    anything else is validated, so a caller learns nothing about organizations it can't use."""

    workflow_type: WorkflowType

    organization = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Organization.objects.all(),
        error_messages={"does_not_exist": "No organization with the slug {value}."},
    )

    def validate_organization(self, organization: Organization) -> Organization:
        user = self.context["request"].user
        if not has_organization_permission(
            user, organization, WORKFLOW_PERMISSIONS[self.workflow_type]
        ):
            raise exceptions.PermissionDenied(
                f"You may not run {self.workflow_type} workflows in {organization.slug}."
            )
        return organization

    def workflow_params(self) -> dict:
        """The workflow's own input, as JSON, without the organization."""
        data = dict(self.validated_data)
        data.pop("organization")
        return data


class OnboardingClientSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField()
    platforms = serializers.ListField(
        child=serializers.ChoiceField(choices=Platform.choices()), allow_empty=False
    )

    def validate_platforms(self, platforms: list[str]) -> list[str]:
        if len(set(platforms)) != len(platforms):
            raise serializers.ValidationError("Each platform may be listed once.")
        return platforms


class ClientOnboardingStartSerializer(WorkflowStartSerializer):
    workflow_type = WorkflowType.CLIENT_ONBOARDING
    client = OnboardingClientSerializer()

    def workflow_params(self) -> dict:
        return dict(self.validated_data["client"])


class PlatformSyncStartSerializer(WorkflowStartSerializer):
    workflow_type = WorkflowType.PLATFORM_SYNC
    client = serializers.IntegerField(min_value=1)
    platform = serializers.ChoiceField(choices=Platform.choices())

    def validate(self, data):
        client = Client.objects.filter(pk=data["client"], organization=data["organization"]).first()
        if client is None:
            raise serializers.ValidationError(
                {"client": [f"No client with id {data['client']} in {data['organization'].slug}."]}
            )
        if not client.integrations.filter(platform=data["platform"]).exists():
            raise serializers.ValidationError(
                {"platform": [f"{client.name} has no {data['platform']} integration."]}
            )
        return data

    def workflow_params(self) -> dict:
        return {
            "client_id": self.validated_data["client"],
            "platform": self.validated_data["platform"],
        }


class EyesParamsSerializer(StrictSerializer):
    epochs = serializers.IntegerField(min_value=1, max_value=1_000_000, default=20)
    clusters = serializers.IntegerField(min_value=2, max_value=20, default=4)


class EyesRetrainStartSerializer(WorkflowStartSerializer):
    workflow_type = WorkflowType.EYES_RETRAIN
    model = serializers.ChoiceField(choices=EyesModel.choices())
    params = EyesParamsSerializer(required=False)

    def workflow_params(self) -> dict:
        params = self.validated_data.get("params") or EyesParamsSerializer().to_internal_value({})
        return {"model": self.validated_data["model"], "params": dict(params)}


class RetentionCampaignStartSerializer(WorkflowStartSerializer):
    workflow_type = WorkflowType.RETENTION_CAMPAIGN
    name = serializers.CharField(max_length=200)
    channel = serializers.ChoiceField(choices=Channel.choices())
    min_churn_risk = serializers.FloatField(min_value=0.0, max_value=1.0)


class WorkflowRunSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    cancel_requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    retry_of = serializers.SlugRelatedField(slug_field="workflow_id", read_only=True)
    progress = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()
    temporal_ui_url = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowRun
        fields = [
            "workflow_id",
            "run_id",
            "workflow_type",
            "status",
            "organization",
            "started_by",
            "created_at",
            "started_at",
            "closed_at",
            "progress",
            "input",
            "result",
            "error",
            "cancel_requested_at",
            "cancel_requested_by",
            "retry_of",
            "status_url",
            "temporal_ui_url",
        ]
        read_only_fields = fields

    def get_progress(self, run: WorkflowRun) -> dict:
        return {"current_step": run.current_step, "steps_done": run.steps_done}

    def get_status_url(self, run: WorkflowRun) -> str:
        path = reverse("workflow-status", kwargs={"workflow_id": run.workflow_id})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_temporal_ui_url(self, run: WorkflowRun) -> str:
        base = settings.TEMPORAL_UI_URL.rstrip("/")
        return f"{base}/namespaces/{settings.TEMPORAL_NAMESPACE}/workflows/{run.workflow_id}"
