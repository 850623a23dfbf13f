from temporalio import workflow

from orchestration.workflows.console_workflow import ConsoleWorkflow

with workflow.unsafe.imports_passed_through():
    from .definition import (
        ARCHIVE_CLIENT_DASHBOARD,
        ERASE_CLIENT_RECORDS,
        NAME,
        REVOKE_CLIENT_INTEGRATIONS,
        ClientOffboardingInput,
        OffboardingResult,
    )


@workflow.defn(name=NAME)
class ClientOffboardingWorkflow(ConsoleWorkflow[ClientOffboardingInput, OffboardingResult]):
    """Revoke integrations -> erase records -> archive the dashboard (client offboarded)."""

    @workflow.run
    async def run(self, input: ClientOffboardingInput) -> OffboardingResult:
        return await self._execute(input)

    async def _steps(self, input: ClientOffboardingInput) -> OffboardingResult:
        revoked = await self._activity(REVOKE_CLIENT_INTEGRATIONS, input)
        erasure = await self._activity(ERASE_CLIENT_RECORDS, input)
        archived = await self._activity(ARCHIVE_CLIENT_DASHBOARD, input)
        return OffboardingResult(
            client_id=input.client_id,
            integrations_revoked=revoked,
            records_erased=erasure.records_erased,
            campaign_members_removed=erasure.campaign_members_removed,
            dashboard_archived=archived,
        )
