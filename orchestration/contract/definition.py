"""What every workflow type is made of: steps (typed activity stubs), policies (timeouts and
retries), the input envelope, and the definition that puts them together. Each type's own
definition lives in its unit (`orchestration/workflows/<type>/definition.py`), listed by
`registry`. Django-free: the sandboxed workflow code imports it."""

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

A = TypeVar("A")
R = TypeVar("R")

MINUTE = 60

# Every activity has a heartbeat timeout: a worker that dies is noticed within it and the
# attempt retried, whatever the step (the worker keeps every activity heartbeating).
HEARTBEAT = 20


@dataclass
class ActivityPolicy:
    activity: str
    start_to_close_seconds: int
    heartbeat_seconds: int | None = None


@dataclass
class WorkflowPolicy:
    """Timeouts and retries of one workflow type. Travels in the workflow input, so a run
    keeps the policy it was started with and the sandbox never reads settings."""

    execution_timeout_seconds: int
    maximum_attempts: int
    activities: list[ActivityPolicy]
    initial_interval_seconds: float = 2.0
    backoff_coefficient: float = 2.0
    maximum_interval_seconds: float = 60.0

    def for_activity(self, activity: str) -> ActivityPolicy:
        for policy in self.activities:
            if policy.activity == activity:
                return policy
        raise KeyError(activity)


@dataclass
class WorkflowInput:
    """The envelope every type's input carries; its own fields follow."""

    run: str  # WorkflowRun primary key
    organization_id: int
    policy: WorkflowPolicy


@dataclass(frozen=True)
class Step(Generic[A, R]):
    """A typed stub of one activity: its name, what it takes and returns, and its timeouts.
    The workflow calls it through `ConsoleWorkflow._activity(step, arg)`; the unit's
    activity implements it (`console_activity(step)` checks the signature at import)."""

    name: str
    arg: type[A] | None
    result: type[R] | Any
    start_to_close_seconds: int
    heartbeat_seconds: int = HEARTBEAT
    # CPU-bound steps run on the training task queue, served by worker slots and threads of
    # their own: training never holds the slots that status reports and short steps need.
    training: bool = False

    def policy(self) -> ActivityPolicy:
        return ActivityPolicy(self.name, self.start_to_close_seconds, self.heartbeat_seconds)


@dataclass(frozen=True)
class WorkflowDefinition:
    """The Django-free half of a workflow type: its name (the Temporal workflow type, also in
    workflow ids and URLs), label, the organization permission that starts and cancels its
    runs (a codename of accounts.roles), input and result dataclasses, steps in order, and
    policy."""

    name: str
    label: str
    description: str
    permission: str
    input: type[WorkflowInput]
    result: type
    steps: tuple[Step, ...]
    execution_timeout_seconds: int
    maximum_attempts: int

    def policy(self) -> WorkflowPolicy:
        return WorkflowPolicy(
            execution_timeout_seconds=self.execution_timeout_seconds,
            maximum_attempts=self.maximum_attempts,
            activities=[step.policy() for step in self.steps],
        )

    def build_input(
        self, *, run_pk: str, organization_id: int, policy: WorkflowPolicy, params: dict
    ) -> WorkflowInput:
        """The workflow's input: the envelope and the run's stored params."""
        return self.input(run=run_pk, organization_id=organization_id, policy=policy, **params)
