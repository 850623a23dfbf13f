from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orchestration.models import AuditEvent, WorkflowRun
from orchestration.temporal.ui import workflow_ui_url
from orchestration.workflows.input_schema import StrictSerializer

# Named in the schema's ENUM_NAME_OVERRIDES: a client's status is another `status`.
RUN_STATUSES = WorkflowRun.Status.choices


class WorkflowRunSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    # Null when nobody (a user since deleted) started or cancelled it, or it is no retry.
    started_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    cancel_requested_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    retry_of = serializers.SlugRelatedField(
        slug_field="workflow_id", read_only=True, allow_null=True
    )
    # The schedule that started it (then `started_by` is null): its id, or null.
    schedule = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
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
            "schedule",
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
        return workflow_ui_url(run.workflow_id)


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
    # Null for events of no organization (e.g. a refused login).
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
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
