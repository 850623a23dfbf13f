"""API routes. Paths match with or without a trailing slash. One start route per registered
workflow type, all served by the one start view."""

from django.urls import re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from orchestration.workflows.registry import UNITS

from . import auth, platform, schedules, views
from .codec import CodecDecodeView

# Executions a Temporal Schedule starts end in an RFC 3339 time, colons included.
WORKFLOW_ID = r"(?P<workflow_id>[A-Za-z0-9._:-]+)"
WORKFLOWS = r"^temporal/workflows"
SCHEDULES = r"^temporal/schedules"
SCHEDULE_ID = (
    r"(?P<schedule_id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
)

urlpatterns = [
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    re_path(r"^docs/?$", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    re_path(r"^auth/token/?$", auth.TokenView.as_view(), name="auth-token"),
    re_path(r"^audit/events/?$", views.AuditEventListView.as_view(), name="audit-events"),
    re_path(r"^temporal/health/?$", views.HealthView.as_view(), name="temporal-health"),
    re_path(r"^temporal/codec/decode/?$", CodecDecodeView.as_view(), name="codec-decode"),
    re_path(r"^temporal/configuration/?$", views.ConfigurationView.as_view(), name="configuration"),
    re_path(r"^platform/clients/?$", platform.ClientListView.as_view(), name="platform-clients"),
    re_path(
        r"^platform/clients/(?P<pk>[0-9]{1,18})/?$",
        platform.ClientDetailView.as_view(),
        name="platform-client",
    ),
    re_path(
        r"^platform/integrations/(?P<pk>[0-9]{1,18})/?$",
        platform.IntegrationDetailView.as_view(),
        name="platform-integration",
    ),
    re_path(
        r"^platform/integrations/(?P<pk>[0-9]{1,18})/check/?$",
        platform.IntegrationCheckView.as_view(),
        name="platform-integration-check",
    ),
    re_path(
        r"^platform/integrations/(?P<pk>[0-9]{1,18})/streams/?$",
        platform.IntegrationStreamsView.as_view(),
        name="platform-integration-streams",
    ),
    re_path(
        r"^platform/integrations/(?P<pk>[0-9]{1,18})/webhook/?$",
        platform.IntegrationWebhookView.as_view(),
        name="platform-integration-webhook",
    ),
    re_path(
        r"^platform/webhooks/(?P<webhook_id>[A-Za-z0-9_-]{1,64})/?$",
        platform.WebhookDeliveryView.as_view(),
        name="platform-webhook",
    ),
    re_path(rf"{WORKFLOWS}/?$", views.WorkflowRunListView.as_view(), name="workflow-list"),
    re_path(rf"{SCHEDULES}/?$", schedules.ScheduleListView.as_view(), name="schedule-list"),
    re_path(
        rf"{SCHEDULES}/{SCHEDULE_ID}/?$",
        schedules.ScheduleDetailView.as_view(),
        name="schedule-detail",
    ),
    *(
        re_path(
            rf"{SCHEDULES}/{SCHEDULE_ID}/{action}/?$", view.as_view(), name=f"schedule-{action}"
        )
        for action, view in [
            ("pause", schedules.SchedulePauseView),
            ("unpause", schedules.ScheduleUnpauseView),
            ("trigger", schedules.ScheduleTriggerView),
        ]
    ),
    *(
        re_path(
            rf"{WORKFLOWS}/{name}/?$",
            views.WorkflowStartView.as_view(unit=unit),
            name=f"start-{name}",
        )
        for name, unit in UNITS.items()
    ),
    re_path(
        rf"{WORKFLOWS}/{WORKFLOW_ID}/status/?$",
        views.WorkflowRunStatusView.as_view(),
        name="workflow-status",
    ),
    re_path(
        rf"{WORKFLOWS}/{WORKFLOW_ID}/history/?$",
        views.WorkflowRunHistoryView.as_view(),
        name="workflow-history",
    ),
    re_path(
        rf"{WORKFLOWS}/{WORKFLOW_ID}/cancel/?$",
        views.WorkflowRunCancelView.as_view(),
        name="workflow-cancel",
    ),
    re_path(
        rf"{WORKFLOWS}/{WORKFLOW_ID}/terminate/?$",
        views.WorkflowRunTerminateView.as_view(),
        name="workflow-terminate",
    ),
    re_path(
        rf"{WORKFLOWS}/{WORKFLOW_ID}/retry/?$",
        views.WorkflowRunRetryView.as_view(),
        name="workflow-retry",
    ),
]
