"""Read-only, permission-scoped queries for schedules."""

from django.db.models import QuerySet

from accounts.permissions import organizations_for
from accounts.roles import VIEW_RUNS
from orchestration.models import WorkflowSchedule


def workflow_schedule_list(*, user) -> QuerySet[WorkflowSchedule]:
    """Schedules of the organizations where `user` may see runs, newest first."""
    queryset = WorkflowSchedule.objects.select_related("organization", "created_by").order_by(
        "-created_at"
    )
    if user.is_superuser:
        return queryset
    return queryset.filter(organization__in=organizations_for(user, VIEW_RUNS))
