from orchestration.platform import services as platform
from orchestration.workflows.activity import console_activity

from .definition import CREATE_RETENTION_CAMPAIGN, CampaignResult, RetentionCampaignInput


@console_activity(CREATE_RETENTION_CAMPAIGN)
def create_retention_campaign(input: RetentionCampaignInput) -> CampaignResult:
    """Create the campaign or, for a dry run, only report its audience (the same step, so a
    dry run issues the same workflow commands as a campaign)."""
    if input.dry_run:
        audience = platform.retention_campaign_audience(
            organization_id=input.organization_id,
            min_churn_risk=input.min_churn_risk,
            segment=input.segment,
        )
        campaign_id, members = None, audience.members
        scored_with, segmented_with = audience.scored_with, audience.segmented_with
    else:
        campaign = platform.retention_campaign_create(
            run_pk=input.run,
            organization_id=input.organization_id,
            name=input.name,
            channel=input.channel,
            min_churn_risk=input.min_churn_risk,
            segment=input.segment,
        )
        campaign_id = campaign.pk
        members = dict(campaign.audience.values_list("email", "churn_risk"))
        scored_with, segmented_with = campaign.scored_with, campaign.segmented_with
    return CampaignResult(
        campaign_id=campaign_id,
        audience_size=len(members),
        scored_with_model_version=scored_with.version if scored_with else None,
        dry_run=input.dry_run,
        segment=input.segment,
        segmented_with_model_version=segmented_with.version if segmented_with else None,
        churn_risk_distribution=platform.churn_risk_distribution(list(members.values())),
    )


ACTIVITIES = (create_retention_campaign,)
