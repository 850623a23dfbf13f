"""The schedules API: `/api/temporal/schedules`. One GenericAPIView per operation, each parsing
input, calling one service (orchestration.services.schedules) or selector, and rendering.

Seeing a schedule needs the organization's VIEW_RUNS (another organization's is a 404);
changing it needs the permission that starts its workflow type there (403 otherwise). The
list answers from the database alone (no Temporal call per row); a schedule's detail adds
what Temporal says of it now (`temporal`: next action times, recent actions; null when
Temporal can't be asked) and the console runs it started."""

import django_filters
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.response import Response

from accounts.models import Organization
from orchestration import authorization
from orchestration.contract.registry import workflow_type_choices
from orchestration.exceptions import TemporalUnavailable
from orchestration.input_limits import MAX_SEARCH_LENGTH
from orchestration.models import WorkflowRun, WorkflowSchedule
from orchestration.selectors.schedules import workflow_schedule_list
from orchestration.services.schedules import (
    MAX_INTERVAL_SECONDS,
    MIN_INTERVAL_SECONDS,
    ScheduleInvalid,
    schedule_timing_errors,
    workflow_schedule_create,
    workflow_schedule_delete,
    workflow_schedule_describe,
    workflow_schedule_set_paused,
    workflow_schedule_trigger,
    workflow_schedule_update,
)
from orchestration.temporal.cron import CronError, validate_cron
from orchestration.workflows.input_schema import OrganizationSlugField, StrictSerializer
from orchestration.workflows.registry import get_unit

from . import serializers as s
from .filters import StrictBooleanFilter

ERROR = s.ErrorSerializer
NOT_FOUND = OpenApiResponse(ERROR, description="No such schedule in the caller's organizations.")
FORBIDDEN = OpenApiResponse(
    ERROR, description="The caller's role doesn't allow starting this workflow type here."
)
UNAVAILABLE = OpenApiResponse(
    ERROR, description="Temporal is unavailable (code temporal_unavailable); nothing changed."
)
BAD_INPUT = OpenApiResponse(description="Field errors: {field: [messages]}; params' nested.")
NO_SUCH_ORGANIZATION = "No organization with the slug {value} where you may see runs."
SCHEDULE_ID = OpenApiParameter(
    "schedule_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The schedule's id."
)


# --- input ------------------------------------------------------------------------------------
def _cron(value: str) -> str:
    if not value:
        return ""
    try:
        return validate_cron(value)
    except CronError as error:
        raise ValidationError(str(error)) from None


class _TimingFields(StrictSerializer):
    cron = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Five fields (minute hour day-of-month month day-of-week), UTC, or @daily, "
        "@hourly... Exactly one of cron and interval_seconds.",
    )
    interval_seconds = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=MIN_INTERVAL_SECONDS,
        max_value=MAX_INTERVAL_SECONDS,
    )
    paused = serializers.BooleanField(required=False)
    overlap = serializers.ChoiceField(
        choices=WorkflowSchedule.Overlap.choices,
        required=False,
        help_text="When the previous run is still going: skip this one, buffer one, or allow all.",
    )
    pause_on_failure = serializers.BooleanField(
        required=False, help_text="Pause the schedule when a run it started fails."
    )
    params = serializers.DictField(
        required=False,
        help_text="The start body of the workflow type, less `organization` "
        "(POST /api/temporal/workflows/<type>), validated like a start.",
    )

    def validate_cron(self, value: str) -> str:
        return _cron(value)


class ScheduleCreateSerializer(_TimingFields):
    organization = OrganizationSlugField(
        slug_field="slug",
        queryset=Organization.objects.all(),
        error_messages={"does_not_exist": NO_SUCH_ORGANIZATION},
    )
    workflow_type = serializers.ChoiceField(choices=workflow_type_choices())

    def validate_organization(self, organization: Organization) -> Organization:
        # Another organization's existence is not given away: as if it didn't exist.
        if not authorization.may_view_organization(self.context["request"].user, organization):
            raise ValidationError(NO_SUCH_ORGANIZATION.format(value=organization.slug))
        return organization

    def validate(self, data):
        errors = schedule_timing_errors(
            cron=data.get("cron", ""), interval_seconds=data.get("interval_seconds")
        )
        if errors:
            raise ValidationError(errors)
        return data


class ScheduleUpdateSerializer(_TimingFields):
    """The settings to change. Giving `cron` replaces the interval and the other way round;
    `params` replaces the parameters whole. The organization and type can't change."""


def validated_params(
    *, workflow_type: str, organization: Organization, params: dict, context: dict
) -> dict:
    """`params` validated like a start of `workflow_type` in `organization`: the input to
    store; ValidationError with the errors under `params`."""
    try:
        return get_unit(workflow_type).start_serializer.validated_params(
            organization=organization, body=params, context=context
        )
    except ValidationError as error:
        raise ValidationError({"params": error.detail}) from None


# --- output -----------------------------------------------------------------------------------
class RecentActionSerializer(serializers.Serializer):
    workflow_id = serializers.CharField()
    scheduled_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField()


class TemporalScheduleSerializer(serializers.Serializer):
    paused = serializers.BooleanField()
    note = serializers.CharField()
    next_action_times = serializers.ListField(child=serializers.DateTimeField())
    recent_actions = RecentActionSerializer(many=True, help_text="Newest first.")
    running_workflow_ids = serializers.ListField(child=serializers.CharField())
    action_count = serializers.IntegerField()


class ScheduleRunSerializer(serializers.ModelSerializer):
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowRun
        fields = ["workflow_id", "status", "created_at", "closed_at", "status_url"]
        read_only_fields = fields

    def get_status_url(self, run: WorkflowRun) -> str:
        return _absolute(self, reverse("workflow-status", kwargs={"workflow_id": run.workflow_id}))


def _absolute(serializer: serializers.Serializer, path: str) -> str:
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request else path


class ScheduleSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    params = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    runs_url = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowSchedule
        fields = [
            "id",
            "organization",
            "workflow_type",
            "params",
            "cron",
            "interval_seconds",
            "paused",
            "overlap",
            "pause_on_failure",
            "created_by",
            "created_at",
            "updated_at",
            "url",
            "runs_url",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_params(self, schedule: WorkflowSchedule) -> dict:
        # The stored input as the start body gives it (what PATCH takes back).
        return get_unit(schedule.workflow_type).start_serializer.params_as_body(
            organization=schedule.organization, params=schedule.params
        )

    def get_url(self, schedule: WorkflowSchedule) -> str:
        return _absolute(self, reverse("schedule-detail", kwargs={"schedule_id": schedule.pk}))

    def get_runs_url(self, schedule: WorkflowSchedule) -> str:
        """The runs it started: the run list filtered by this schedule."""
        return _absolute(self, f"{reverse('workflow-list')}?schedule={schedule.pk}")


class ScheduleDetailSerializer(ScheduleSerializer):
    """A schedule with what Temporal says of it now (null when Temporal couldn't be asked or
    has no such schedule; `manage.py sync_schedules` re-creates it) and its latest runs."""

    temporal = serializers.SerializerMethodField()
    recent_runs = serializers.SerializerMethodField()

    class Meta(ScheduleSerializer.Meta):
        fields = [*ScheduleSerializer.Meta.fields, "temporal", "recent_runs"]
        read_only_fields = fields

    @extend_schema_field(TemporalScheduleSerializer(allow_null=True))
    def get_temporal(self, schedule: WorkflowSchedule):
        info = self.context.get("temporal")
        return None if info is None else TemporalScheduleSerializer(info.as_dict()).data

    @extend_schema_field(ScheduleRunSerializer(many=True))
    def get_recent_runs(self, schedule: WorkflowSchedule):
        runs = schedule.runs.order_by("-created_at")[:10]
        return ScheduleRunSerializer(runs, many=True, context=self.context).data


# --- permissions and filters --------------------------------------------------------------------
class CanChangeSchedule(IsAuthenticated):
    """Reading needs the organization's runs in view (the queryset sees to it); a change
    needs the permission that starts the schedule's workflow type there."""

    message = "Your role doesn't allow starting (so scheduling) this workflow type here."

    def has_object_permission(self, request, view, schedule) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return authorization.may_start(request.user, schedule.organization, schedule.workflow_type)


class ScheduleFilter(django_filters.FilterSet):
    organization = django_filters.CharFilter(
        field_name="organization__slug", max_length=MAX_SEARCH_LENGTH
    )
    workflow_type = django_filters.ChoiceFilter(choices=workflow_type_choices)
    paused = StrictBooleanFilter()

    class Meta:
        model = WorkflowSchedule
        fields = []


def _invalid(error: ScheduleInvalid) -> ValidationError:
    return ValidationError(error.errors)


# --- views --------------------------------------------------------------------------------------
class ScheduleQuerysetMixin:
    permission_classes = [CanChangeSchedule]
    serializer_class = ScheduleSerializer
    lookup_field = "pk"
    lookup_url_kwarg = "schedule_id"

    def get_queryset(self):
        return workflow_schedule_list(user=self.request.user)


class ScheduleListView(ScheduleQuerysetMixin, generics.ListAPIView):
    """GET: the caller's organizations' schedules, newest first, from the database only (no
    Temporal call: a schedule's detail has its next and recent actions). POST: create one;
    Temporal's schedule is created in the same call (503 and nothing written when Temporal
    can't be reached)."""

    filterset_class = ScheduleFilter

    def get_serializer_class(self):
        return ScheduleCreateSerializer if self.request.method == "POST" else ScheduleSerializer

    @extend_schema(responses={200: ScheduleSerializer(many=True)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ScheduleCreateSerializer,
        responses={201: ScheduleDetailSerializer, 400: BAD_INPUT, 403: FORBIDDEN, 503: UNAVAILABLE},
    )
    def post(self, request):
        body = ScheduleCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        organization, workflow_type = data["organization"], data["workflow_type"]
        if not authorization.may_start(request.user, organization, workflow_type):
            raise PermissionDenied(CanChangeSchedule.message)
        params = validated_params(
            workflow_type=workflow_type,
            organization=organization,
            params=data.get("params", {}),
            context=self.get_serializer_context(),
        )
        try:
            schedule = workflow_schedule_create(
                user=request.user,
                organization=organization,
                workflow_type=workflow_type,
                params=params,
                cron=data.get("cron", ""),
                interval_seconds=data.get("interval_seconds"),
                paused=data.get("paused", False),
                overlap=data.get("overlap", WorkflowSchedule.Overlap.SKIP),
                pause_on_failure=data.get("pause_on_failure", False),
            )
        except ScheduleInvalid as error:
            raise _invalid(error) from None
        return Response(_detail(self, schedule), status=status.HTTP_201_CREATED)


def _detail(view: generics.GenericAPIView, schedule: WorkflowSchedule) -> dict:
    context = view.get_serializer_context()
    try:
        context["temporal"] = workflow_schedule_describe(schedule=schedule)
    except TemporalUnavailable:
        context["temporal"] = None  # the row alone still answers
    return ScheduleDetailSerializer(schedule, context=context).data


@extend_schema(parameters=[SCHEDULE_ID])
class ScheduleDetailView(ScheduleQuerysetMixin, generics.GenericAPIView):
    """GET: a schedule with Temporal's next action times and recent actions, and the runs it
    started. PATCH: change its settings (Temporal's schedule in the same call). DELETE:
    delete it from Temporal and the console; runs it started stay."""

    serializer_class = ScheduleDetailSerializer

    @extend_schema(responses={200: ScheduleDetailSerializer, 404: NOT_FOUND})
    def get(self, request, schedule_id):
        return Response(_detail(self, self.get_object()))

    @extend_schema(
        request=ScheduleUpdateSerializer,
        responses={
            200: ScheduleDetailSerializer,
            400: BAD_INPUT,
            403: FORBIDDEN,
            404: NOT_FOUND,
            503: UNAVAILABLE,
        },
    )
    def patch(self, request, schedule_id):
        schedule = self.get_object()
        body = ScheduleUpdateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        if "params" in changes:
            changes["params"] = validated_params(
                workflow_type=schedule.workflow_type,
                organization=schedule.organization,
                params=changes["params"],
                context=self.get_serializer_context(),
            )
        if changes.get("cron") == "" and changes.get("interval_seconds") is None:
            changes.pop("cron")  # an empty cron alone says nothing
        try:
            schedule = workflow_schedule_update(
                user=request.user, schedule=schedule, changes=changes
            )
        except ScheduleInvalid as error:
            raise _invalid(error) from None
        return Response(_detail(self, schedule))

    @extend_schema(
        responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND, 503: UNAVAILABLE},
    )
    def delete(self, request, schedule_id):
        workflow_schedule_delete(user=request.user, schedule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class _ScheduleActionView(ScheduleQuerysetMixin, generics.GenericAPIView):
    serializer_class = ScheduleDetailSerializer


@extend_schema(parameters=[SCHEDULE_ID])
class SchedulePauseView(_ScheduleActionView):
    """Pause the schedule: Temporal starts nothing until it is unpaused."""

    paused = True

    @extend_schema(
        request=None,
        responses={200: ScheduleDetailSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 503: UNAVAILABLE},
    )
    def post(self, request, schedule_id):
        schedule = workflow_schedule_set_paused(
            user=request.user, schedule=self.get_object(), paused=self.paused
        )
        return Response(_detail(self, schedule))


@extend_schema(parameters=[SCHEDULE_ID])
class ScheduleUnpauseView(SchedulePauseView):
    """Unpause the schedule."""

    paused = False


@extend_schema(parameters=[SCHEDULE_ID])
class ScheduleTriggerView(_ScheduleActionView):
    """Start the schedule's workflow now (its overlap policy applies). 202: Temporal took
    the request; the run appears in the run list (`runs_url`) as soon as it starts."""

    @extend_schema(
        request=None,
        responses={202: ScheduleDetailSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 503: UNAVAILABLE},
    )
    def post(self, request, schedule_id):
        schedule = self.get_object()
        workflow_schedule_trigger(user=request.user, schedule=schedule)
        return Response(_detail(self, schedule), status=status.HTTP_202_ACCEPTED)
