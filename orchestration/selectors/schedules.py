"""Read-only, permission-scoped queries for schedules."""

from django.db.models import QuerySet

from orchestration import authorization
from orchestration.models import WorkflowSchedule


def workflow_schedule_list(*, user) -> QuerySet[WorkflowSchedule]:
    """Schedules of the organizations where `user` may see runs, newest first."""
    queryset = WorkflowSchedule.objects.select_related("organization", "created_by").order_by(
        "-created_at"
    )
    if user.is_superuser:
        return queryset
    return queryset.filter(organization__in=authorization.visible_organizations(user))
