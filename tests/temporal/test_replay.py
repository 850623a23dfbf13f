"""The determinism guard: real histories of every workflow type (tests/histories/<type>/
<scenario>.json, made by `make record-histories`) replay against today's workflow code.

A change to a workflow that changes the commands it issues (a step added, removed or
reordered, a different activity or timer) would break the runs in flight when it ships; the
replay fails here instead. Ship such a change behind `workflow.patched` (see
orchestration/workflows/console_workflow.py) so that old histories still replay, then record the
histories again. Replay needs no Temporal server; the sandboxed runner is the worker's own.
"""

import asyncio
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from orchestration.temporal.converter import data_converter
from orchestration.worker.build import WORKFLOWS
from orchestration.workflows.client_onboarding import definition as onboarding
from orchestration.workflows.client_onboarding.definition import (
    ClientOnboardingInput,
    ClientRef,
    OnboardingResult,
)
from orchestration.workflows.client_onboarding.workflow import ClientOnboardingWorkflow
from orchestration.workflows.registry import UNITS
from tests.histories.record import SCENARIOS

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
RECORDED = sorted(HISTORIES.glob("*/*.json"))
RECORD = "run `make record-histories` and commit tests/histories/"


def load(path: Path) -> WorkflowHistory:
    # The file doesn't hold the workflow id (to_json() leaves it out); replay doesn't need it.
    return WorkflowHistory.from_json(f"{path.parent.name}-{path.stem}", path.read_text())


def replay(history: WorkflowHistory, workflows: list[type], **options) -> None:
    # Histories recorded since payloads are encrypted hold ciphertext (the recorder runs on
    # the test settings, so the same derived key opens them); older ones pass through.
    replayer = Replayer(workflows=workflows, data_converter=data_converter(), **options)
    asyncio.run(replayer.replay_workflow(history))


@pytest.mark.parametrize("path", RECORDED, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_recorded_history_replays_on_todays_workflows(path: Path):
    assert path.parent.name in UNITS, (
        f"{path.parent.relative_to(HISTORIES.parent)} holds histories of {path.parent.name!r}, "
        "which is not a registered workflow type: delete the folder if the type is gone"
    )
    replay(load(path), WORKFLOWS)


def test_every_registered_type_has_every_scenario_recorded():
    missing = [
        f"{name}/{scenario}"
        for name in UNITS
        for scenario in SCENARIOS
        if not (HISTORIES / name / f"{scenario}.json").is_file()
    ]
    assert not missing, f"No recorded history for {', '.join(missing)}: {RECORD}."


# --- the guard guards ------------------------------------------------------------------------
# Two stand-ins for ClientOnboardingWorkflow under its workflow name, defined here so the
# test module runs them unsandboxed (the sandbox would re-import this module and Django).
@workflow.defn(name=onboarding.NAME)
class UnchangedOnboarding(ClientOnboardingWorkflow):
    """Today's steps, unchanged: the control, which must replay."""

    @workflow.run
    async def run(self, input: ClientOnboardingInput) -> OnboardingResult:
        return await self._execute(input)


@workflow.defn(name=onboarding.NAME)
class ReorderedOnboarding(ClientOnboardingWorkflow):
    """Creates the dashboard before setting up the integrations: a changed command sequence."""

    @workflow.run
    async def run(self, input: ClientOnboardingInput) -> OnboardingResult:
        return await self._execute(input)

    async def _steps(self, input: ClientOnboardingInput) -> OnboardingResult:
        client_id = await self._activity(onboarding.VALIDATE_CLIENT_DATA, input)
        ref = ClientRef(run=input.run, client_id=client_id, platforms=list(input.platforms))
        dashboard_id = await self._activity(onboarding.CREATE_CLIENT_DASHBOARD, ref)
        integrations = await self._activity(onboarding.SETUP_CLIENT_INTEGRATIONS, ref)
        return OnboardingResult(
            client_id=client_id, integrations=integrations, dashboard_id=dashboard_id
        )


def onboarding_success() -> WorkflowHistory:
    path = HISTORIES / onboarding.NAME / "success.json"
    if not path.is_file():
        pytest.fail(f"No recorded history {path.relative_to(HISTORIES.parent)}: {RECORD}.")
    return load(path)


def test_an_unchanged_copy_of_a_workflow_replays():
    replay(onboarding_success(), [UnchangedOnboarding], workflow_runner=UnsandboxedWorkflowRunner())


def test_a_changed_command_sequence_fails_replay_as_nondeterministic():
    with pytest.raises(workflow.NondeterminismError) as raised:
        replay(
            onboarding_success(),
            [ReorderedOnboarding],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
    # What no longer matches is the step order: the recorded step against the new one.
    message = str(raised.value)
    assert "Nondeterminism" in message, message
    assert "'setup_client_integrations'" in message, message
    assert "'create_client_dashboard'" in message, message
