from django.db.models import Count
from rest_framework import serializers

from accounts.roles import RUN_SENSITIVE_WORKFLOWS
from orchestration.models import Campaign, WorkflowRun
from orchestration.temporal.shared import Channel
from orchestration.workflows.core import RunRecord, WorkflowStartSerializer, WorkflowUnit

from .activities import ACTIVITIES
from .definition import DEFINITION
from .workflow import RetentionCampaignWorkflow


class RetentionCampaignStartSerializer(WorkflowStartSerializer):
    name = serializers.CharField(max_length=200)
    channel = serializers.ChoiceField(choices=Channel.choices())
    min_churn_risk = serializers.FloatField(
        min_value=0.0, max_value=1.0, initial=0.6, help_text="From 0 to 1."
    )


def records(run: WorkflowRun) -> list[RunRecord]:
    campaign = Campaign.objects.filter(run=run).annotate(size=Count("audience")).first()
    return [RunRecord("campaign", campaign, f"{campaign.size} members")] if campaign else []


UNIT = WorkflowUnit(
    definition=DEFINITION,
    workflow=RetentionCampaignWorkflow,
    activities=ACTIVITIES,
    start_serializer=RetentionCampaignStartSerializer,
    permission=RUN_SENSITIVE_WORKFLOWS,
    records=records,
)
