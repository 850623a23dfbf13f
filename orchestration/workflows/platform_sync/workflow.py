import dataclasses

from temporalio import workflow

from orchestration.workflows.console_workflow import ConsoleWorkflow

with workflow.unsafe.imports_passed_through():
    from .definition import (
        NAME,
        NORMALIZE_PLATFORM_DATA,
        NORMALIZE_STEP,
        SYNC_PLATFORM_DATA,
        NormalizeInput,
        PlatformSyncInput,
        SyncResult,
    )


@workflow.defn(name=NAME)
class PlatformSyncWorkflow(ConsoleWorkflow[PlatformSyncInput, SyncResult]):
    """Pull one platform's records for one client into the console's database, then make
    the client's customers of them."""

    @workflow.run
    async def run(self, input: PlatformSyncInput) -> SyncResult:
        return await self._execute(input)

    async def _steps(self, input: PlatformSyncInput) -> SyncResult:
        result = await self._activity(SYNC_PLATFORM_DATA, input)
        if not workflow.patched(NORMALIZE_STEP):
            return result
        normalized = await self._activity(
            NORMALIZE_PLATFORM_DATA,
            NormalizeInput(
                run=input.run,
                organization_id=input.organization_id,
                client_id=input.client_id,
                platform=input.platform,
            ),
        )
        return dataclasses.replace(
            result,
            records=normalized.customers,
            normalized=normalized.mapped,
            customers_created=normalized.created,
            customers_updated=normalized.updated,
        )
