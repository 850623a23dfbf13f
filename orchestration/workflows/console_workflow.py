"""What every console workflow does around its steps. Deterministic, sandboxed, free of Django.

Every workflow (a `ConsoleWorkflow` subclass in its unit, `orchestration/workflows/<type>/`):
  - takes one dataclass input carrying its `WorkflowPolicy` (timeouts, attempts, backoff);
  - when a Temporal Schedule started it (its input's `run` is empty), first records itself
    as a run of that schedule through the `register_scheduled_run` local activity;
  - calls its activities through their typed stubs (`Step`s), each with a start-to-close
    timeout and a retry policy that never retries `ValidationFailed`;
  - reports each step and its outcome (COMPLETED, FAILED, CANCELED) to the console through the
    `report_run_status` local activity, so the database follows without polling;
  - schedules a step again, after a growing pause and from the checkpoint it heartbeated,
    when its worker died (a heartbeat timeout on its last attempt), shut down, or couldn't
    have the database: infrastructure never exhausts a step's attempts (at most
    MAX_INTERRUPTIONS times; behind `workflow.patched`);
  - waits for a cancelled activity to acknowledge cancellation before it ends, so a cancelled
    run leaves no late writes behind, and starts no further step once a cancel is requested
    (short steps don't heartbeat, finish, and then the cancel takes effect);
  - never fails because a status report couldn't be delivered: `reconcile_runs` (which the
    worker runs periodically) repairs rows whose workflow couldn't report, timeouts included.

CPU-bound steps (`Step.training`) run on the training task queue (`<queue>-training`),
whose worker slots are their own.

Queries: `progress` -> Progress(current_step, steps_done).
Signals: none; cancellation is Temporal's own cancel request.

Changing what a workflow does changes the commands it issues; histories recorded before the
change (running workflows, tests/histories/) would no longer replay. Guard such changes with
`workflow.patched`, as `_activity` does below (docs/development.md).
"""

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any, Generic, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    TimeoutType,
    is_cancelled_exception,
)
from temporalio.exceptions import (
    TimeoutError as TemporalTimeoutError,
)

with workflow.unsafe.imports_passed_through():
    from orchestration.contract.definition import Step, WorkflowInput
    from orchestration.contract.protocol import (
        INTERRUPTED_ERROR_TYPE,
        INTERRUPTION_PAUSE_SECONDS,
        MAX_INTERRUPTIONS,
        REGISTER_SCHEDULED_RUN,
        REPORT_MAXIMUM_ATTEMPTS,
        REPORT_RUN_STATUS,
        REPORT_TIMEOUT_SECONDS,
        SCHEDULE_MISSING_ERROR_TYPE,
        VALIDATION_ERROR_TYPE,
        Progress,
        RunStatusReport,
        ScheduledRunStart,
        failure_message,
        training_task_queue,
    )

In = TypeVar("In", bound=WorkflowInput)
R = TypeVar("R")
A = TypeVar("A")  # a step's argument
S = TypeVar("S")  # a step's result

CANCELED, COMPLETED, FAILED, RUNNING = "CANCELED", "COMPLETED", "FAILED", "RUNNING"
# workflow.patched id: histories from before steps were resumed after interruptions replay
# without it (they failed the run instead).
RESUME_INTERRUPTED_STEPS = "resume-interrupted-steps"
# workflow.patched id: histories from before training had a task queue of its own.
TRAINING_TASK_QUEUE = "training-task-queue"


def _interruption(error: ActivityError) -> tuple[bool, Any]:
    """Whether a step failed because its worker went away (a heartbeat timeout: it died; or
    its shutdown), and the checkpoint it left (its last heartbeat's second detail)."""
    cause = error.cause
    if isinstance(cause, TemporalTimeoutError) and cause.type == TimeoutType.HEARTBEAT:
        details = cause.last_heartbeat_details
    elif isinstance(cause, ApplicationError) and cause.type == INTERRUPTED_ERROR_TYPE:
        details = (None, *cause.details)
    else:
        return False, None
    return True, details[1] if len(details) > 1 else None


class ConsoleWorkflow(Generic[In, R]):
    """Shared step, reporting and outcome handling. Subclasses implement `_steps` and a
    `@workflow.run` method that returns `await self._execute(input)`."""

    def __init__(self) -> None:
        self._current_step = ""
        self._steps_done: list[str] = []
        self._input: WorkflowInput | None = None

    @workflow.query
    def progress(self) -> Progress:
        return Progress(current_step=self._current_step, steps_done=list(self._steps_done))

    async def _steps(self, input: In) -> R:
        raise NotImplementedError

    async def _execute(self, input: In) -> R:
        if not input.run:
            # A Temporal Schedule started this execution: the console hears of it first.
            # (Every run the console starts has its run, so recorded histories never take
            # this branch and replay unchanged.)
            input = dataclasses.replace(input, run=await self._register_scheduled_run(input))
        self._input = input
        try:
            result = await self._steps(input)
        except BaseException as error:
            if is_cancelled_exception(error):
                await self._report(CANCELED, error="Cancelled on request.")
                raise
            if isinstance(error, ActivityError):
                message = failure_message(error)
                await self._report(FAILED, error=message)
                raise ApplicationError(message, non_retryable=True) from error
            raise
        self._current_step = ""
        await self._report(COMPLETED, result=dataclasses.asdict(result))
        return result

    async def _register_scheduled_run(self, input: In) -> str:
        """Record this execution as a run of its schedule; return the run's primary key.
        A schedule whose row is gone fails the execution at once (non-retryable)."""
        info = workflow.info()
        return await workflow.execute_local_activity(
            REGISTER_SCHEDULED_RUN,
            ScheduledRunStart(
                workflow_id=info.workflow_id,
                run_id=info.run_id,
                workflow_type=info.workflow_type,
                organization_id=input.organization_id,
                started_at=info.start_time.isoformat(),
            ),
            result_type=str,
            start_to_close_timeout=timedelta(seconds=REPORT_TIMEOUT_SECONDS),
            retry_policy=RetryPolicy(
                maximum_attempts=REPORT_MAXIMUM_ATTEMPTS,
                non_retryable_error_types=[SCHEDULE_MISSING_ERROR_TYPE],
            ),
        )

    async def _activity(self, stub: Step[A, S], arg: A) -> S:
        """Run one step: its activity, with the run's policy for it, on its task queue."""
        assert self._input is not None
        policy = self._input.policy
        try:
            step = policy.for_activity(stub.name)
        except KeyError:  # a step added (behind workflow.patched) since the run started
            step = stub.policy()
        self._current_step = stub.name
        await self._report(RUNNING)
        task_queue = (
            training_task_queue(workflow.info().task_queue)
            if stub.training and workflow.patched(TRAINING_TASK_QUEUE)
            else None
        )
        interruptions = 0
        while True:
            try:
                result = await workflow.execute_activity(
                    stub.name,
                    arg,
                    task_queue=task_queue,
                    result_type=stub.result,
                    start_to_close_timeout=timedelta(seconds=step.start_to_close_seconds),
                    heartbeat_timeout=(
                        timedelta(seconds=step.heartbeat_seconds)
                        if step.heartbeat_seconds
                        else None
                    ),
                    retry_policy=RetryPolicy(
                        initial_interval=timedelta(seconds=policy.initial_interval_seconds),
                        backoff_coefficient=policy.backoff_coefficient,
                        maximum_interval=timedelta(seconds=policy.maximum_interval_seconds),
                        maximum_attempts=policy.maximum_attempts,
                        non_retryable_error_types=[VALIDATION_ERROR_TYPE],
                    ),
                    cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                )
                break
            except ActivityError as error:
                interrupted, checkpoint = _interruption(error)
                # Workers that die or shut down must not be what exhausts a step's attempts:
                # the step is scheduled again (a fresh set of attempts), from its checkpoint.
                if (
                    not interrupted
                    or interruptions >= MAX_INTERRUPTIONS
                    or not workflow.patched(RESUME_INTERRUPTED_STEPS)
                ):
                    raise
                interruptions += 1
                # Give what interrupted it (a database outage, a rolling deploy) time to pass.
                pause = min(INTERRUPTION_PAUSE_SECONDS * 2 ** (interruptions - 1), 60)
                workflow.logger.info(
                    "%s was interrupted; scheduling it again in %ss", stub.name, pause
                )
                await workflow.sleep(pause)
                if checkpoint is not None and hasattr(arg, "checkpoint"):
                    arg = dataclasses.replace(arg, checkpoint=checkpoint)
        self._steps_done.append(stub.name)
        # A step that doesn't heartbeat never hears of a cancel and finishes normally; the
        # request is still pending on this task, so honour it before the next step.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError("Cancelled on request.")
        return result

    async def _report(self, status: str, *, result: dict | None = None, error: str = "") -> None:
        """Tell the console. A report that keeps failing (the database is down) is logged
        and dropped rather than failing work that succeeded: reconcile_runs repairs the row."""
        assert self._input is not None
        try:
            await self._send_report(status, result=result, error=error)
        except ActivityError as failure:
            if is_cancelled_exception(failure):
                raise  # a cancel that arrived during the report is the run's, not the report's
            workflow.logger.warning("Could not report %s: %s", status, failure_message(failure))

    async def _send_report(self, status: str, *, result: dict | None, error: str) -> None:
        assert self._input is not None
        await workflow.execute_local_activity(
            REPORT_RUN_STATUS,
            RunStatusReport(
                run=self._input.run,
                status=status,
                current_step=self._current_step,
                steps_done=list(self._steps_done),
                result=result,
                error=error,
                started_at=workflow.info().workflow_start_time.isoformat(),
            ),
            start_to_close_timeout=timedelta(seconds=REPORT_TIMEOUT_SECONDS),
            retry_policy=RetryPolicy(maximum_attempts=REPORT_MAXIMUM_ATTEMPTS),
        )
