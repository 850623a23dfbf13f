from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers

from accounts.models import Organization
from accounts.permissions import has_organization_permission
from accounts.roles import WORKFLOW_PERMISSIONS
from orchestration.models import AuditEvent, Client, Integration, WorkflowRun
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

    @classmethod
    def data_from_params(cls, params: dict) -> dict:
        """The request body (less the organization) that `workflow_params` came from."""
        return dict(params)


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

    @classmethod
    def data_from_params(cls, params: dict) -> dict:
        return {"client": dict(params)}


class PlatformSyncStartSerializer(WorkflowStartSerializer):
    workflow_type = WorkflowType.PLATFORM_SYNC
    client = serializers.IntegerField(min_value=1)
    platform = serializers.ChoiceField(choices=Platform.choices())

    def validate(self, data):
        if Integration.objects.filter(
            client_id=data["client"],
            client__organization=data["organization"],
            platform=data["platform"],
        ).exists():
            return data
        # Say precisely what is wrong; only bad input pays for these queries.
        client = Client.objects.filter(pk=data["client"], organization=data["organization"]).first()
        if client is None:
            raise serializers.ValidationError(
                {"client": [f"No client with id {data['client']} in {data['organization'].slug}."]}
            )
        raise serializers.ValidationError(
            {"platform": [f"{client.name} has no {data['platform']} integration."]}
        )

    def workflow_params(self) -> dict:
        return {
            "client_id": self.validated_data["client"],
            "platform": self.validated_data["platform"],
        }

    @classmethod
    def data_from_params(cls, params: dict) -> dict:
        return {"client": params["client_id"], "platform": params["platform"]}


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
            "retrying",
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


START_SERIALIZERS: dict[str, type[WorkflowStartSerializer]] = {
    serializer.workflow_type: serializer
    for serializer in (
        ClientOnboardingStartSerializer,
        PlatformSyncStartSerializer,
        EyesRetrainStartSerializer,
        RetentionCampaignStartSerializer,
    )
}


class PendingActivitySerializer(serializers.Serializer):
    activity = serializers.CharField()
    state = serializers.CharField()
    attempt = serializers.IntegerField()
    maximum_attempts = serializers.IntegerField(allow_null=True)
    last_failure = serializers.CharField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_heartbeat_at = serializers.DateTimeField(allow_null=True)
    heartbeat_details = serializers.CharField(
        allow_null=True, help_text="The latest heartbeat's progress, e.g. `epoch 1200/300000`."
    )
    last_started_at = serializers.DateTimeField(allow_null=True)


class WorkflowRunDetailSerializer(WorkflowRunSerializer):
    """A run with what only Temporal knows while it runs: its pending activities.
    `pending_activities` is null when the run is closed or Temporal couldn't be asked."""

    pending_activities = serializers.SerializerMethodField()
    retrying = serializers.SerializerMethodField()

    class Meta(WorkflowRunSerializer.Meta):
        fields = [*WorkflowRunSerializer.Meta.fields, "pending_activities", "last_failure"]
        read_only_fields = fields

    @extend_schema_field(PendingActivitySerializer(many=True, allow_null=True))
    def get_pending_activities(self, run: WorkflowRun):
        pending = self.context.get("pending_activities")
        return None if pending is None else PendingActivitySerializer(pending, many=True).data

    def get_retrying(self, run: WorkflowRun) -> bool:
        pending = self.context.get("pending_activities") or []
        return run.status == WorkflowRun.Status.RUNNING and (
            run.retrying or any(item["attempt"] > 1 for item in pending)
        )


class TerminateSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class RetrySerializer(StrictSerializer):
    overrides = serializers.DictField(
        required=False,
        default=dict,
        help_text=(
            "Fields of the original start body to change, e.g. "
            '{"client": {"email": "new@example.com"}} or {"params": {"epochs": 50}}. '
            "The organization can't change."
        ),
    )

    def validate_overrides(self, overrides: dict) -> dict:
        if "organization" in overrides:
            raise serializers.ValidationError("A retry runs in the original run's organization.")
        return overrides


class HistoryEventSerializer(serializers.Serializer):
    event_id = serializers.IntegerField()
    type = serializers.CharField(help_text="e.g. ActivityTaskFailed")
    time = serializers.DateTimeField(allow_null=True)
    activity = serializers.CharField(allow_null=True)
    attempt = serializers.IntegerField(allow_null=True)
    failure = serializers.CharField(allow_null=True)


class HistoryPageSerializer(serializers.Serializer):
    events = HistoryEventSerializer(many=True)
    next_page_token = serializers.CharField(allow_null=True)
    next = serializers.URLField(allow_null=True)


class AuditEventSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    actor = serializers.CharField(source="actor_username", read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "action",
            "outcome",
            "actor",
            "organization",
            "workflow_id",
            "payload",
            "client_ip",
            "request_id",
        ]
        read_only_fields = fields


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False, help_text="temporal_unavailable or conflict")


def _merge(base: dict, overrides: dict) -> dict:
    merged = dict(base)
    for key, value in overrides.items():
        merged[key] = (
            _merge(merged[key], value)
            if isinstance(value, dict) and isinstance(merged.get(key), dict)
            else value
        )
    return merged


def validated_retry_params(*, run: WorkflowRun, overrides: dict, context: dict) -> dict:
    """A retry's workflow input: the run's input with `overrides` (in the start body's shape)
    applied, validated exactly like a start. Raises ValidationError with field errors."""
    start_serializer = START_SERIALIZERS[run.workflow_type]
    data = _merge(start_serializer.data_from_params(run.input), overrides)
    start = start_serializer(data={**data, "organization": run.organization.slug}, context=context)
    start.is_valid(raise_exception=True)
    return start.workflow_params()
