from temporalio import workflow

from orchestration.workflows.console_workflow import ConsoleWorkflow

with workflow.unsafe.imports_passed_through():
    from .definition import (
        CREATE_RETENTION_CAMPAIGN,
        NAME,
        CampaignResult,
        RetentionCampaignInput,
    )


@workflow.defn(name=NAME)
class RetentionCampaignWorkflow(ConsoleWorkflow[RetentionCampaignInput, CampaignResult]):
    """Create a retention campaign for customers at or above a churn risk."""

    @workflow.run
    async def run(self, input: RetentionCampaignInput) -> CampaignResult:
        return await self._execute(input)

    async def _steps(self, input: RetentionCampaignInput) -> CampaignResult:
        return await self._activity(CREATE_RETENTION_CAMPAIGN, input)
