"""API routes. Paths match with or without a trailing slash."""

from django.urls import re_path
from rest_framework.authtoken.views import obtain_auth_token

from . import views

WORKFLOW_ID = r"(?P<workflow_id>[A-Za-z0-9._-]+)"

urlpatterns = [
    re_path(r"^auth/token/?$", obtain_auth_token, name="auth-token"),
    re_path(r"^temporal/health/?$", views.HealthView.as_view(), name="temporal-health"),
    re_path(r"^temporal/configuration/?$", views.ConfigurationView.as_view(), name="configuration"),
    re_path(r"^temporal/workflows/?$", views.WorkflowRunListView.as_view(), name="workflow-list"),
    re_path(
        r"^temporal/workflows/client-onboarding/?$",
        views.ClientOnboardingStartView.as_view(),
        name="start-client-onboarding",
    ),
    re_path(
        r"^temporal/workflows/platform-sync/?$",
        views.PlatformSyncStartView.as_view(),
        name="start-platform-sync",
    ),
    re_path(
        r"^temporal/workflows/eyes-retrain/?$",
        views.EyesRetrainStartView.as_view(),
        name="start-eyes-retrain",
    ),
    re_path(
        r"^temporal/workflows/retention-campaign/?$",
        views.RetentionCampaignStartView.as_view(),
        name="start-retention-campaign",
    ),
    re_path(
        rf"^temporal/workflows/{WORKFLOW_ID}/status/?$",
        views.WorkflowRunStatusView.as_view(),
        name="workflow-status",
    ),
    re_path(
        rf"^temporal/workflows/{WORKFLOW_ID}/cancel/?$",
        views.WorkflowRunCancelView.as_view(),
        name="workflow-cancel",
    ),
]
