import django_filters

from orchestration.models import AuditEvent, WorkflowRun
from orchestration.workflows.choices import workflow_type_choices


class WorkflowRunFilter(django_filters.FilterSet):
    organization = django_filters.CharFilter(field_name="organization__slug")
    workflow_type = django_filters.ChoiceFilter(choices=workflow_type_choices)
    status = django_filters.ChoiceFilter(choices=WorkflowRun.Status.choices)
    started_by = django_filters.CharFilter(field_name="started_by__username")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    retrying = django_filters.BooleanFilter()
    search = django_filters.CharFilter(field_name="workflow_id", lookup_expr="icontains")
    ordering = django_filters.OrderingFilter(
        fields=["created_at", "started_at", "closed_at", "status", "workflow_type"]
    )

    class Meta:
        model = WorkflowRun
        fields = []


class AuditEventFilter(django_filters.FilterSet):
    organization = django_filters.CharFilter(field_name="organization__slug")
    action = django_filters.CharFilter()
    actor = django_filters.CharFilter(field_name="actor_username")
    run = django_filters.CharFilter(field_name="workflow_id")
    outcome = django_filters.ChoiceFilter(choices=AuditEvent.Outcome.choices)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = []
