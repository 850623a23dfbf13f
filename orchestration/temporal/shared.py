"""What every workflow type is made of, and what they share: steps, policies, the input
envelope, status reports and the error types. Each type's own names, inputs and results live
in its unit (`orchestration/workflows/<type>/definition.py`).

Imported by the sandboxed workflow code: keep Django (and anything with side effects) out.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

A = TypeVar("A")
R = TypeVar("R")


class _Choices(StrEnum):
    """A StrEnum whose members may name their label, as Django's TextChoices do:
    `GA4 = "ga4", "GA4"`. Without one, the label is the value in words ("Clustering")."""

    label: str

    def __new__(cls, value: str, label: str | None = None) -> "_Choices":
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value.replace("-", " ").capitalize()
        return member

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]


class Platform(_Choices):
    GA4 = "ga4", "GA4"
    HUBSPOT = "hubspot", "HubSpot"
    SALESFORCE = "salesforce", "Salesforce"
    TIKTOK = "tiktok", "TikTok"
    YOUTUBE = "youtube", "YouTube"


class EyesModel(_Choices):
    CLUSTERING = "clustering"
    CHURN = "churn"


class Channel(_Choices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PUSH = "push", "Push"


def training_task_queue(task_queue: str) -> str:
    return f"{task_queue}-training"


# The maintenance workflow the deployment's reconcile schedule starts (not a run type).
RECONCILE_WORKFLOW = "reconcile-runs"
RECONCILE_TIMEOUT_SECONDS = 5 * 60


# The error type activities raise for bad input; retry policies never retry it.
VALIDATION_ERROR_TYPE = "ValidationFailed"
# The error type of a step stopped by infrastructure (its worker's shutdown, carrying its
# checkpoint; the database unavailable). Not retried by Temporal (an attempt is for business
# failures): the workflow schedules the step again after a pause (5 s, doubling, at most
# 60 s), as after a heartbeat timeout (a worker that died), up to MAX_INTERRUPTIONS times.
INTERRUPTED_ERROR_TYPE = "WorkerInterrupted"
MAX_INTERRUPTIONS = 5
INTERRUPTION_PAUSE_SECONDS = 5


def failure_message(error: BaseException) -> str:
    """The innermost cause's own message, without Temporal's "Type: " prefix or wrappers."""
    while error.__cause__ is not None:
        error = error.__cause__
    return getattr(error, "message", None) or str(error) or type(error).__name__


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


MINUTE = 60

# Every activity has a heartbeat timeout: a worker that dies is noticed within it and the
# attempt retried, whatever the step (heartbeats.py keeps every activity heartbeating).
HEARTBEAT = 20


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

    def policy(self) -> "ActivityPolicy":
        return ActivityPolicy(self.name, self.start_to_close_seconds, self.heartbeat_seconds)


@dataclass(frozen=True)
class WorkflowDefinition:
    """The Django-free half of a workflow type: its name (the Temporal workflow type, also in
    workflow ids), input and result dataclasses, steps in order, and policy."""

    name: str
    label: str
    description: str
    input: type["WorkflowInput"]
    result: type
    steps: tuple[Step, ...]
    execution_timeout_seconds: int
    maximum_attempts: int

    def policy(self) -> "WorkflowPolicy":
        return WorkflowPolicy(
            execution_timeout_seconds=self.execution_timeout_seconds,
            maximum_attempts=self.maximum_attempts,
            activities=[step.policy() for step in self.steps],
        )


# Status reports are short database writes; they retry on their own schedule so a brief
# database outage doesn't fail an otherwise finished run.
REPORT_TIMEOUT_SECONDS = 30
REPORT_MAXIMUM_ATTEMPTS = 10
REPORT_RUN_STATUS = "report_run_status"
RECONCILE_RUNS = "reconcile_runs"
# Records, as a run, an execution a Temporal Schedule started (its input's run is "").
REGISTER_SCHEDULED_RUN = "register_scheduled_run"
SCHEDULE_MISSING_ERROR_TYPE = "ScheduleMissing"


@dataclass
class WorkflowInput:
    run: str  # WorkflowRun primary key
    organization_id: int
    policy: WorkflowPolicy


@dataclass
class ScheduledRunStart:
    """An execution a schedule started, as the workflow tells the console (the
    `register_scheduled_run` local activity), which answers with the run's primary key."""

    workflow_id: str
    run_id: str
    workflow_type: str
    organization_id: int
    started_at: str  # ISO 8601, the execution's start time


@dataclass
class RunStatusReport:
    """What a workflow tells the console about itself (the `report_run_status` activity)."""

    run: str
    status: str  # a WorkflowRun.Status value
    current_step: str = ""
    steps_done: list[str] = field(default_factory=list)
    result: dict | None = None
    error: str = ""


@dataclass
class Progress:
    current_step: str
    steps_done: list[str]
