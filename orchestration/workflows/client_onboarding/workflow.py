from temporalio import workflow

from orchestration.workflows.console_workflow import ConsoleWorkflow

with workflow.unsafe.imports_passed_through():
    from .definition import (
        CREATE_CLIENT_DASHBOARD,
        NAME,
        SETUP_CLIENT_INTEGRATIONS,
        VALIDATE_CLIENT_DATA,
        ClientOnboardingInput,
        ClientRef,
        OnboardingResult,
    )


@workflow.defn(name=NAME)
class ClientOnboardingWorkflow(ConsoleWorkflow[ClientOnboardingInput, OnboardingResult]):
    """Validate client data -> set up integrations -> create the dashboard."""

    @workflow.run
    async def run(self, input: ClientOnboardingInput) -> OnboardingResult:
        return await self._execute(input)

    async def _steps(self, input: ClientOnboardingInput) -> OnboardingResult:
        client_id = await self._activity(VALIDATE_CLIENT_DATA, input)
        ref = ClientRef(run=input.run, client_id=client_id, platforms=list(input.platforms))
        integrations = await self._activity(SETUP_CLIENT_INTEGRATIONS, ref)
        dashboard_id = await self._activity(CREATE_CLIENT_DASHBOARD, ref)
        return OnboardingResult(
            client_id=client_id, integrations=integrations, dashboard_id=dashboard_id
        )
