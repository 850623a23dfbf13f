"""The REST API: one GenericAPIView per operation, each parsing input, calling one service or
selector, and rendering the result."""

from dataclasses import asdict

from django.conf import settings
from rest_framework import generics, permissions, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.permissions import organizations_for
from accounts.roles import VIEW_CONFIGURATION
from orchestration.selectors.runs import workflow_run_list
from orchestration.services.policies import workflow_policies
from orchestration.services.runs import workflow_run_cancel, workflow_run_start
from orchestration.temporal.bridge import get_bridge

from . import serializers as s


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


class WorkflowStartView(generics.GenericAPIView):
    """POST starts a run. An `Idempotency-Key` header already used by this organization for
    this workflow type answers 200 with the original run instead of starting another."""

    output_serializer_class = s.WorkflowRunSerializer

    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run, created = workflow_run_start(
            user=request.user,
            organization=serializer.validated_data["organization"],
            workflow_type=serializer.workflow_type,
            params=serializer.workflow_params(),
            idempotency_key=request.headers.get("Idempotency-Key", "")[:200],
        )
        output = self.output_serializer_class(run, context=self.get_serializer_context())
        return Response(
            output.data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        )


class ClientOnboardingStartView(WorkflowStartView):
    serializer_class = s.ClientOnboardingStartSerializer


class PlatformSyncStartView(WorkflowStartView):
    serializer_class = s.PlatformSyncStartSerializer


class EyesRetrainStartView(WorkflowStartView):
    serializer_class = s.EyesRetrainStartSerializer


class RetentionCampaignStartView(WorkflowStartView):
    serializer_class = s.RetentionCampaignStartSerializer


class RunQuerysetMixin:
    serializer_class = s.WorkflowRunSerializer
    lookup_field = "workflow_id"

    def get_queryset(self):
        return workflow_run_list(user=self.request.user)


class WorkflowRunListView(RunQuerysetMixin, generics.ListAPIView):
    """The caller's organizations' runs, newest first, paginated."""


class WorkflowRunStatusView(RunQuerysetMixin, generics.RetrieveAPIView):
    """A run as the console knows it: status, progress, input, result or error."""


class WorkflowRunCancelView(RunQuerysetMixin, generics.GenericAPIView):
    """Request cancellation. 202: Temporal accepted the request; the run becomes CANCELED
    when the workflow acknowledges it. 409 when the run isn't running."""

    def post(self, request, workflow_id):
        run = workflow_run_cancel(user=request.user, run=self.get_object())
        run.refresh_from_db()
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)


class ConfigurationView(generics.GenericAPIView):
    """Temporal connection settings and the effective workflow policies (managers, admins)."""

    def get(self, request):
        if not organizations_for(request.user, VIEW_CONFIGURATION).exists():
            raise PermissionDenied("Viewing the configuration needs the manager or admin role.")
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
                    workflow_type: asdict(policy)
                    for workflow_type, policy in workflow_policies().items()
                },
            }
        )
