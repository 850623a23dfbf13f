"""The list endpoints' filters. Text filters are bounded (MAX_SEARCH_LENGTH): no slug,
username or workflow id is longer, and SQLite refuses LIKE patterns beyond 50,000 bytes.
Times must be representable in UTC, as the database stores them."""

from datetime import UTC

import django_filters
from django import forms
from django_filters.fields import BaseCSVField, IsoDateTimeField

from orchestration.contract.registry import workflow_type_choices
from orchestration.input_limits import MAX_SEARCH_LENGTH
from orchestration.models import AuditEvent, WorkflowRun
from orchestration.selectors.runs import workflow_id_prefix


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, as UTC: 0001-01-01T00:00+05:00 is a valid time whose conversion to
    UTC overflows (a 400 here, not a 500 when the query runs), and PostgreSQL refuses offsets
    beyond 15:59 that Python accepts (up to 23:59)."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Out of the range of times.", code="invalid") from None


class TimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class StrictBooleanField(forms.Field):
    """`true` or `false` (or 1/0); anything else is a 400 (Django's NullBooleanField would
    take it for "no filter")."""

    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            return self.VALUES[str(value).lower()]
        except KeyError:
            raise forms.ValidationError("Either true or false.", code="invalid") from None


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class NoEmptyItemsCSVField(BaseCSVField):
    """A comma-separated list without empty items (`ordering=,,` would be no ordering)."""

    def clean(self, value):
        if value and any(item in self.empty_values for item in value):
            raise forms.ValidationError("An empty item in the list.", code="invalid")
        return super().clean(value)


class StrictOrderingFilter(django_filters.OrderingFilter):
    base_field_class = NoEmptyItemsCSVField


class WorkflowIdPrefixFilter(django_filters.CharFilter):
    """Workflow ids starting with the value: a prefix the index answers, not a substring that
    reads every run (issue 12, P4)."""

    def filter(self, qs, value):
        if value in django_filters.constants.EMPTY_VALUES:
            return qs
        return qs.filter(workflow_id_prefix(value, self.field_name))


class WorkflowRunFilter(django_filters.FilterSet):
    organization = django_filters.CharFilter(
        field_name="organization__slug", max_length=MAX_SEARCH_LENGTH
    )
    workflow_type = django_filters.ChoiceFilter(choices=workflow_type_choices)
    status = django_filters.ChoiceFilter(choices=WorkflowRun.Status.choices)
    started_by = django_filters.CharFilter(
        field_name="started_by__username", max_length=MAX_SEARCH_LENGTH
    )
    created_after = TimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = TimeFilter(field_name="created_at", lookup_expr="lt")
    retrying = StrictBooleanFilter()
    schedule = django_filters.UUIDFilter(field_name="schedule_id", label="Started by this schedule")
    search = WorkflowIdPrefixFilter(
        field_name="workflow_id",
        lookup_expr="startswith",
        max_length=MAX_SEARCH_LENGTH,
        label="Workflow ids starting with this (case-sensitive; a whole id finds its run)",
    )
    ordering = StrictOrderingFilter(
        fields=["created_at", "started_at", "closed_at", "status", "workflow_type"]
    )

    class Meta:
        model = WorkflowRun
        fields = []


class AuditEventFilter(django_filters.FilterSet):
    organization = django_filters.CharFilter(
        field_name="organization__slug", max_length=MAX_SEARCH_LENGTH
    )
    action = django_filters.CharFilter(max_length=MAX_SEARCH_LENGTH)
    actor = django_filters.CharFilter(field_name="actor_username", max_length=MAX_SEARCH_LENGTH)
    run = django_filters.CharFilter(field_name="workflow_id", max_length=MAX_SEARCH_LENGTH)
    outcome = django_filters.ChoiceFilter(choices=AuditEvent.Outcome.choices)
    created_after = TimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = TimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = []
