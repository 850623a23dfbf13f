from temporalio import workflow

from orchestration.workflows.console_workflow import ConsoleWorkflow

with workflow.unsafe.imports_passed_through():
    from .definition import NAME, PING_CLIENT, ClientPingInput, PingResult


@workflow.defn(name=NAME)
class ClientPingWorkflow(ConsoleWorkflow[ClientPingInput, PingResult]):
    """Ping the client."""

    @workflow.run
    async def run(self, input: ClientPingInput) -> PingResult:
        return await self._execute(input)

    async def _steps(self, input: ClientPingInput) -> PingResult:
        return await self._activity(PING_CLIENT, input)
