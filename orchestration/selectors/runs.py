"""Read-only, permission-scoped queries for runs and audit events."""

from dataclasses import dataclass

from django.db.models import Count, Model, QuerySet

from accounts.permissions import organizations_for
from accounts.roles import VIEW_RUNS
from orchestration.models import AuditEvent, Campaign, Client, ModelVersion, WorkflowRun
from orchestration.temporal.shared import WorkflowType


def workflow_run_list(*, user) -> QuerySet[WorkflowRun]:
    """Runs of the organizations where `user` may see runs, newest first."""
    queryset = WorkflowRun.objects.select_related(
        "organization", "started_by", "cancel_requested_by", "retry_of"
    ).order_by("-created_at")
    if user.is_superuser:
        return queryset
    return queryset.filter(organization__in=organizations_for(user, VIEW_RUNS))


def audit_event_list(*, user) -> QuerySet[AuditEvent]:
    queryset = AuditEvent.objects.select_related("organization", "run")
    if user.is_superuser:
        return queryset
    return queryset.filter(organization__in=organizations_for(user, VIEW_RUNS))


@dataclass(frozen=True)
class RunRecord:
    kind: str  # client, model version, campaign
    record: Model
    detail: str = ""


def workflow_run_records(*, run: WorkflowRun) -> list[RunRecord]:
    """The platform records a run created or worked on, in one query for its type. The caller
    has already been allowed to see the run, and records share its organization."""
    if run.workflow_type == WorkflowType.CLIENT_ONBOARDING:
        client = Client.objects.filter(created_by_run=run).select_related("dashboard").first()
        if client is None:
            return []
        dashboard = getattr(client, "dashboard", None)
        return [RunRecord("client", client, f"dashboard: {dashboard}" if dashboard else "")]
    if run.workflow_type == WorkflowType.PLATFORM_SYNC:
        client = Client.objects.filter(
            pk=run.input.get("client_id"), organization_id=run.organization_id
        ).first()
        return [RunRecord("client", client, run.input.get("platform", ""))] if client else []
    if run.workflow_type == WorkflowType.EYES_RETRAIN:
        version = ModelVersion.objects.filter(run=run).first()
        return [RunRecord("model version", version, "")] if version else []
    if run.workflow_type == WorkflowType.RETENTION_CAMPAIGN:
        campaign = Campaign.objects.filter(run=run).annotate(size=Count("audience")).first()
        return [RunRecord("campaign", campaign, f"{campaign.size} members")] if campaign else []
    return []
