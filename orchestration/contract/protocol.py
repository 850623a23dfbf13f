"""What the workflows and the console tell each other: the console's own activity names,
status reports, scheduled-run registration, the error types retry policies look at.
Django-free: the sandboxed workflow code imports it."""

from dataclasses import dataclass, field


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
    # When Temporal started the execution (ISO 8601): the run's start, should the report be
    # the first the console hears of it. Empty in reports from before it was sent.
    started_at: str = ""


@dataclass
class Progress:
    current_step: str
    steps_done: list[str]
