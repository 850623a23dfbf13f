"""Retention campaign, the Django-free half: a campaign for the customers at or above a churn
risk, or for one segment of the active clustering model, scored with the active churn model.
A dry run reports the audience without creating the campaign."""

from dataclasses import dataclass, field

from orchestration.contract.definition import MINUTE, Step, WorkflowDefinition, WorkflowInput

NAME = "retention-campaign"


@dataclass
class RetentionCampaignInput(WorkflowInput):
    name: str
    channel: str
    # Exactly one of the two chooses the audience (the start serializer checks it). Fields
    # added later have defaults, so inputs recorded before them still decode.
    min_churn_risk: float | None = None
    segment: int | None = None
    dry_run: bool = False


@dataclass
class CampaignResult:
    campaign_id: int | None  # None for a dry run: nothing is created
    audience_size: int
    scored_with_model_version: int | None
    dry_run: bool = False
    segment: int | None = None
    segmented_with_model_version: int | None = None
    # The audience's churn risks in buckets of 0.2: [{"from": 0.0, "to": 0.2, "customers": n}, ...]
    churn_risk_distribution: list[dict] = field(default_factory=list)


CREATE_RETENTION_CAMPAIGN = Step(
    "create_retention_campaign", RetentionCampaignInput, CampaignResult, 5 * MINUTE
)

DEFINITION = WorkflowDefinition(
    name=NAME,
    label="Retention campaign",
    description=(
        "Create a campaign for the customers at or above a churn risk or in one segment "
        "(or, as a dry run, report that audience)."
    ),
    # The organization permission (accounts.roles) that starts and cancels its runs.
    permission="run_sensitive_workflows",
    input=RetentionCampaignInput,
    result=CampaignResult,
    steps=(CREATE_RETENTION_CAMPAIGN,),
    execution_timeout_seconds=10 * MINUTE,
    maximum_attempts=3,
)
