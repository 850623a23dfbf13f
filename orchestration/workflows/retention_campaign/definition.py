"""Retention campaign, the Django-free half: a campaign for the customers at or above a churn
risk, scored with the latest churn model."""

from dataclasses import dataclass

from orchestration.temporal.shared import MINUTE, Step, WorkflowDefinition, WorkflowInput

NAME = "retention-campaign"


@dataclass
class RetentionCampaignInput(WorkflowInput):
    name: str
    channel: str
    min_churn_risk: float


@dataclass
class CampaignResult:
    campaign_id: int
    audience_size: int
    scored_with_model_version: int | None


CREATE_RETENTION_CAMPAIGN = Step(
    "create_retention_campaign", RetentionCampaignInput, CampaignResult, 5 * MINUTE
)

DEFINITION = WorkflowDefinition(
    name=NAME,
    label="Retention campaign",
    description="Create a campaign for the customers at or above a churn risk.",
    input=RetentionCampaignInput,
    result=CampaignResult,
    steps=(CREATE_RETENTION_CAMPAIGN,),
    execution_timeout_seconds=10 * MINUTE,
    maximum_attempts=3,
)
