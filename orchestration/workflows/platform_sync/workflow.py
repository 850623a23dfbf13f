from temporalio import workflow

from orchestration.workflows.console_workflow import ConsoleWorkflow

with workflow.unsafe.imports_passed_through():
    from .definition import NAME, SYNC_PLATFORM_DATA, PlatformSyncInput, SyncResult


@workflow.defn(name=NAME)
class PlatformSyncWorkflow(ConsoleWorkflow[PlatformSyncInput, SyncResult]):
    """Pull one platform's records for one client into the console's database."""

    @workflow.run
    async def run(self, input: PlatformSyncInput) -> SyncResult:
        return await self._execute(input)

    async def _steps(self, input: PlatformSyncInput) -> SyncResult:
        return await self._activity(SYNC_PLATFORM_DATA, input)
