"""Read-only, permission-scoped queries for runs and audit events."""

from django.db.models import QuerySet

from accounts.permissions import organizations_for
from accounts.roles import VIEW_RUNS
from orchestration.models import AuditEvent, WorkflowRun
from orchestration.workflows.core import RunRecord
from orchestration.workflows.registry import get_unit


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


def workflow_run_records(*, run: WorkflowRun) -> list[RunRecord]:
    """The platform records a run created or worked on, in one query (its unit's `records`).
    The caller has already been allowed to see the run, and records share its organization."""
    return get_unit(run.workflow_type).records(run)
