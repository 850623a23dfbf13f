from orchestration.platform import services as platform
from orchestration.temporal.activities import console_activity

from .definition import CREATE_RETENTION_CAMPAIGN, CampaignResult, RetentionCampaignInput


@console_activity(CREATE_RETENTION_CAMPAIGN)
def create_retention_campaign(input: RetentionCampaignInput) -> CampaignResult:
    campaign = platform.retention_campaign_create(
        run_pk=input.run,
        organization_id=input.organization_id,
        name=input.name,
        channel=input.channel,
        min_churn_risk=input.min_churn_risk,
    )
    return CampaignResult(
        campaign_id=campaign.pk,
        audience_size=campaign.audience.count(),
        scored_with_model_version=campaign.scored_with.version if campaign.scored_with else None,
    )


ACTIVITIES = (create_retention_campaign,)
