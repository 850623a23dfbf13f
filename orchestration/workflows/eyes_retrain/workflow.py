from temporalio import workflow

from orchestration.workflows.console_workflow import ConsoleWorkflow

with workflow.unsafe.imports_passed_through():
    from .definition import NAME, RETRAIN_EYES_MODEL, EyesRetrainInput, RetrainResult


@workflow.defn(name=NAME)
class EyesRetrainWorkflow(ConsoleWorkflow[EyesRetrainInput, RetrainResult]):
    """Retrain the organization's EYES clustering or churn model and store a new version."""

    @workflow.run
    async def run(self, input: EyesRetrainInput) -> RetrainResult:
        return await self._execute(input)

    async def _steps(self, input: EyesRetrainInput) -> RetrainResult:
        return await self._activity(RETRAIN_EYES_MODEL, input)
