"""The REST API: one GenericAPIView per operation, each parsing input, calling one service or
selector, and rendering the result."""

from dataclasses import asdict
from urllib.parse import urlencode

from django.conf import settings
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from orchestration.exceptions import TemporalUnavailable
from orchestration.selectors.runs import audit_event_list, workflow_run_list
from orchestration.services.policies import workflow_policies
from orchestration.services.runs import (
    workflow_run_cancel,
    workflow_run_retry,
    workflow_run_start,
    workflow_run_terminate,
)
from orchestration.temporal.bridge import get_bridge
from orchestration.workflows.registry import UNITS, get_unit
from orchestration.workflows.units import WorkflowUnit

from . import serializers as s
from .filters import AuditEventFilter, WorkflowRunFilter
from .permissions import (
    CanCancelRun,
    CanManageRun,
    CanStartSomewhere,
    CanViewConfiguration,
    CanViewRun,
)
from .schema import WorkflowStartSchema

ERROR = s.ErrorSerializer
UNAVAILABLE = OpenApiResponse(
    ERROR, description="Temporal is unavailable (code temporal_unavailable)."
)
CONFLICT = OpenApiResponse(ERROR, description="The run's state doesn't allow this (code conflict).")
NOT_FOUND = OpenApiResponse(ERROR, description="No such run in the caller's organizations.")
FORBIDDEN = OpenApiResponse(ERROR, description="The caller's role doesn't allow this.")
UNAUTHENTICATED = OpenApiResponse(ERROR, description="No or invalid credentials.")
BAD_INPUT = OpenApiResponse(description="Field errors: {field: [messages]}.")
RUN_OPERATION_ERRORS = {403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT, 503: UNAVAILABLE}


@extend_schema(
    responses={
        200: inline_serializer(
            "Health",
            {"status": serializers.CharField(), "temporal": serializers.DictField()},
        ),
        503: UNAVAILABLE,
    }
)
class HealthView(generics.GenericAPIView):
    """Whether this process can reach Temporal. Open to probes; says nothing secret."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []

    def get(self, request):
        bridge = get_bridge()
        info = bridge.check_health()
        return Response(
            {
                "status": "ok",
                "temporal": {
                    "address": bridge.address,
                    "namespace": bridge.namespace,
                    "connected": True,
                    **info,
                },
            }
        )


@extend_schema(
    parameters=[
        OpenApiParameter(
            "Idempotency-Key",
            str,
            OpenApiParameter.HEADER,
            description="Repeat-safe starts: a key already used returns the original run.",
        )
    ],
    responses={
        202: s.WorkflowRunSerializer,
        200: OpenApiResponse(s.WorkflowRunSerializer, description="Idempotent replay."),
        400: BAD_INPUT,
        401: UNAUTHENTICATED,
        403: FORBIDDEN,
        503: UNAVAILABLE,
    },
)
class WorkflowStartView(generics.GenericAPIView):
    """POST starts a run of the URL's workflow type, its body validated by the type's start
    serializer. An `Idempotency-Key` header already used by this organization for this
    workflow type answers 200 with the original run instead of starting another (or, when
    that run failed to start, starts it again and answers 202)."""

    unit: WorkflowUnit | None = None  # set per URL (urls.py), one route per registered type
    permission_classes = [CanStartSomewhere]
    schema = WorkflowStartSchema()

    def get_serializer_class(self):
        return self.unit.start_serializer

    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run, created = workflow_run_start(
            user=request.user,
            organization=serializer.validated_data["organization"],
            workflow_type=self.unit.name,
            params=serializer.params(),
            idempotency_key=request.headers.get("Idempotency-Key", "")[:200],
        )
        output = s.WorkflowRunSerializer(run, context=self.get_serializer_context())
        return Response(
            output.data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        )


class RunQuerysetMixin:
    """Runs the caller may see; another organization's run is a 404, never a 403."""

    permission_classes = [CanViewRun]
    serializer_class = s.WorkflowRunSerializer
    lookup_field = "workflow_id"

    def get_queryset(self):
        return workflow_run_list(user=self.request.user)


@extend_schema(
    responses={200: s.WorkflowRunSerializer(many=True), 400: BAD_INPUT, 401: UNAUTHENTICATED}
)
class WorkflowRunListView(RunQuerysetMixin, generics.ListAPIView):
    """The caller's organizations' runs, newest first, filtered and paginated."""

    filterset_class = WorkflowRunFilter
    cursor_ordering = ("-created_at",)  # `?cursor=` pages (orchestration.api.pagination)


@extend_schema(responses={200: s.WorkflowRunDetailSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND})
class WorkflowRunStatusView(RunQuerysetMixin, generics.RetrieveAPIView):
    """A run: status, progress, input, result or error, and, while it runs, its pending
    activities from Temporal (attempt, maximum attempts, last failure, next retry)."""

    serializer_class = s.WorkflowRunDetailSerializer

    def retrieve(self, request, *args, **kwargs):
        run = self.get_object()
        context = self.get_serializer_context()
        if run.status == run.Status.RUNNING:
            try:
                context["pending_activities"] = list(
                    get_bridge().describe(run.workflow_id).pending_activities
                )
            except TemporalUnavailable:
                context["pending_activities"] = None  # the row alone still answers
        return Response(self.get_serializer_class()(run, context=context).data)


class WorkflowRunCancelView(RunQuerysetMixin, generics.GenericAPIView):
    """Request cancellation. 202: Temporal accepted the request; the run becomes CANCELED
    when the workflow acknowledges it. 409 when the run isn't running."""

    permission_classes = [CanCancelRun]

    @extend_schema(
        request=None,
        responses={202: s.WorkflowRunSerializer, **RUN_OPERATION_ERRORS},
    )
    def post(self, request, workflow_id):
        run = workflow_run_cancel(user=request.user, run=self.get_object())
        run.refresh_from_db()
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)


class WorkflowRunTerminateView(RunQuerysetMixin, generics.GenericAPIView):
    """Terminate a running run at once, with a reason (managers and admins)."""

    permission_classes = [CanManageRun]

    @extend_schema(
        request=s.TerminateSerializer,
        responses={200: s.WorkflowRunSerializer, 400: BAD_INPUT, **RUN_OPERATION_ERRORS},
    )
    def post(self, request, workflow_id):
        run = self.get_object()
        body = s.TerminateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = workflow_run_terminate(
            user=request.user, run=run, reason=body.validated_data["reason"]
        )
        return Response(self.get_serializer(run).data)


class WorkflowRunRetryView(RunQuerysetMixin, generics.GenericAPIView):
    """Start a new run with a finished run's input, optionally overriding fields; the new
    input is validated like a start, and the new run links back through `retry_of`."""

    permission_classes = [CanManageRun]

    @extend_schema(
        request=s.RetrySerializer,
        responses={202: s.WorkflowRunSerializer, 400: BAD_INPUT, **RUN_OPERATION_ERRORS},
    )
    def post(self, request, workflow_id):
        run = self.get_object()
        body = s.RetrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        params = get_unit(run.workflow_type).start_serializer.validated_retry_params(
            run=run,
            overrides=body.validated_data["overrides"],
            context=self.get_serializer_context(),
        )
        new_run = workflow_run_retry(user=request.user, run=run, params=params)
        return Response(self.get_serializer(new_run).data, status=status.HTTP_202_ACCEPTED)


class WorkflowRunHistoryView(RunQuerysetMixin, generics.GenericAPIView):
    """The run's Temporal event history, oldest first, a page at a time."""

    MAX_PAGE_SIZE = 200

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                description=f"Events per page (1-{MAX_PAGE_SIZE}, default 50).",
            ),
            OpenApiParameter(
                "page_token", str, description="`next_page_token` of the previous page."
            ),
        ],
        responses={200: s.HistoryPageSerializer, 400: BAD_INPUT, 404: NOT_FOUND, 503: UNAVAILABLE},
    )
    def get(self, request, workflow_id):
        run = self.get_object()
        try:
            page_size = int(request.query_params.get("page_size", 50))
            if not 1 <= page_size <= self.MAX_PAGE_SIZE:
                raise ValueError
        except ValueError:
            raise ValidationError(
                {"page_size": [f"A whole number from 1 to {self.MAX_PAGE_SIZE}."]}
            ) from None
        try:
            page = get_bridge().history_page(
                run.workflow_id,
                page_size=page_size,
                cursor=request.query_params.get("page_token", ""),
            )
        except ValueError:
            raise ValidationError({"page_token": ["Not a token this API gave out."]}) from None
        next_url = None
        if page.next_cursor:
            query = urlencode({"page_size": page_size, "page_token": page.next_cursor})
            next_url = request.build_absolute_uri(f"{request.path}?{query}")
        return Response(
            {"events": page.events, "next_page_token": page.next_cursor, "next": next_url}
        )


@extend_schema(
    responses={
        200: inline_serializer(
            "Configuration",
            {"temporal": serializers.DictField(), "workflows": serializers.DictField()},
        ),
        401: UNAUTHENTICATED,
        403: FORBIDDEN,
    }
)
class ConfigurationView(generics.GenericAPIView):
    """Temporal connection settings and, for each workflow type, its label, the permission
    that starts it and its effective policy (managers, admins)."""

    permission_classes = [CanViewConfiguration]

    def get(self, request):
        policies = workflow_policies()
        return Response(
            {
                "temporal": {
                    "address": settings.TEMPORAL_ADDRESS,
                    "namespace": settings.TEMPORAL_NAMESPACE,
                    "task_queue": settings.TEMPORAL_TASK_QUEUE,
                    "ui_url": settings.TEMPORAL_UI_URL,
                    "rpc_timeout_seconds": settings.TEMPORAL_RPC_TIMEOUT,
                },
                "workflows": {
                    name: {
                        "label": unit.label,
                        "description": unit.definition.description,
                        "permission": unit.permission,
                        **asdict(policies[name]),
                    }
                    for name, unit in UNITS.items()
                },
            }
        )


@extend_schema(
    responses={200: s.AuditEventSerializer(many=True), 400: BAD_INPUT, 401: UNAUTHENTICATED}
)
class AuditEventListView(generics.ListAPIView):
    """The audit log of the caller's organizations, newest first."""

    serializer_class = s.AuditEventSerializer
    filterset_class = AuditEventFilter
    cursor_ordering = ("-created_at", "-id")  # `?cursor=` pages (orchestration.api.pagination)

    def get_queryset(self):
        return audit_event_list(user=self.request.user)
