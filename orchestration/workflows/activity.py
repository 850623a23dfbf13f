"""How the console's activities run (`console_activity`, `heartbeat`, `resume_checkpoint`).
Each workflow type's activities live in its unit
(`orchestration/workflows/<type>/activities.py`): sync functions run on the worker's thread
pool, each a thin call into a service. Before and after each call the thread's database
connections are released: none is left inside a transaction, whatever ended the call
(`connections.release_connections`).
Long activities heartbeat, which is how a cancellation reaches them."""

import functools
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory, CancelledError

from orchestration.contract.definition import Step
from orchestration.contract.protocol import (
    INTERRUPTED_ERROR_TYPE,
    VALIDATION_ERROR_TYPE,
    failure_message,
)
from orchestration.exceptions import DATABASE_ERRORS
from orchestration.platform.errors import DataValidationError
from orchestration.services.runs import (
    workflow_run_record_activity_attempt,
    workflow_run_record_retry_started,
)
from orchestration.workflows.connections import release_connections
from orchestration.workflows.heartbeats import beat, heartbeats_kept

F = TypeVar("F", bound=Callable)


def console_activity(step: Step | str) -> Callable[[F], F]:
    """Register `fn` as the activity of `step` (a run's step; its attempts are recorded on
    the run) or of the console's own activity named `step`, with connection hygiene,
    heartbeats kept while it runs, and non-retryable validation errors. A function whose
    signature doesn't match its step's stub fails here, at import."""
    run_step = isinstance(step, Step)
    name = step.name if isinstance(step, Step) else step

    def decorate(fn: F) -> F:
        if isinstance(step, Step):
            _check_signature(fn, step)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            release_connections()
            if run_step and activity.info().attempt > 1:
                _record_retry_started()
            try:
                with heartbeats_kept():
                    result = fn(*args, **kwargs)
            except DataValidationError as error:
                count("omnify_activity_outcomes", activity=name, outcome="invalid")
                # An expected outcome: one log line, not the SDK's WARNING with a traceback
                # (it logs BENIGN failures at DEBUG).
                activity.logger.info("%s refused its input: %s", name, error)
                raise ApplicationError(
                    str(error),
                    type=VALIDATION_ERROR_TYPE,
                    non_retryable=True,
                    category=ApplicationErrorCategory.BENIGN,
                ) from None  # the message is the whole story; no traceback chain
            except CancelledError:
                count("omnify_activity_outcomes", activity=name, outcome="cancelled")
                raise
            except DATABASE_ERRORS as error:
                if not run_step:
                    raise  # status reports retry on their own; reconcile runs again anyway
                # Busy (another writer kept SQLite's lock) or down: not the step's fault, so
                # not one of its attempts; the workflow schedules it again after a pause.
                count("omnify_activity_outcomes", activity=name, outcome="interrupted")
                raise ApplicationError(
                    f"The database is unavailable: {error}",
                    type=INTERRUPTED_ERROR_TYPE,
                    non_retryable=True,
                ) from error
            except Exception as error:
                count("omnify_activity_outcomes", activity=name, outcome="failed")
                if run_step:
                    _record_attempt(error)
                raise
            else:
                count("omnify_activity_outcomes", activity=name, outcome="succeeded")
                if activity.info().attempt > 1 and run_step:
                    _record_attempt(None)
                return result
            finally:
                release_connections()

        return activity.defn(name=name)(wrapper)

    return decorate


def _check_signature(fn: Callable, step: Step) -> None:
    hints = typing.get_type_hints(fn)
    returns = hints.pop("return", None)
    arguments = list(hints.values())
    expected = [step.arg] if step.arg is not None else []
    if arguments != expected or returns != step.result:
        raise TypeError(
            f"Activity {fn.__qualname__} doesn't match its step {step.name}: it takes "
            f"{arguments} and returns {returns}; the step takes {expected} and returns "
            f"{step.result}."
        )


def count(metric: str, **attributes: str) -> None:
    """Add one to a counter exported by the worker's SDK runtime (its Prometheus endpoint)."""
    counter = activity.metric_meter().create_counter(metric)
    counter.with_additional_attributes(attributes).add(1)


def _record_attempt(error: Exception | None) -> None:
    """Tell the run whether this activity is failing and will be tried again."""
    info = activity.info()
    policy = info.retry_policy
    will_retry = error is not None and (
        policy is None or not policy.maximum_attempts or info.attempt < policy.maximum_attempts
    )
    try:
        workflow_run_record_activity_attempt(
            workflow_id=info.workflow_id,
            activity=info.activity_type,
            attempt=info.attempt,
            error=failure_message(error) if error is not None else "",
            will_retry=will_retry,
        )
    except Exception:  # never let bookkeeping hide the activity's own outcome
        activity.logger.exception("Could not record the attempt of %s", info.activity_type)


def _record_retry_started() -> None:
    info = activity.info()
    try:
        workflow_run_record_retry_started(
            workflow_id=info.workflow_id, activity=info.activity_type, attempt=info.attempt
        )
    except Exception:  # bookkeeping must not fail the attempt it describes
        activity.logger.exception("Could not record the retry of %s", info.activity_type)


def heartbeat(progress: str, *resume_details: Any) -> None:
    beat(progress, *resume_details)
    # The SDK also raises into the thread on cancellation; checking here stops at a clean
    # point between steps even when that is disabled or late.
    if activity.is_cancelled():
        raise CancelledError("Cancelled while running.")
    if activity.is_worker_shutdown():
        # Stop at a clean point and hand the checkpoint over: non-retryable, so it costs no
        # attempt; the workflow schedules the step again (see workflows/console_workflow.py).
        raise ApplicationError(
            "The worker is shutting down; the step resumes on another worker.",
            *resume_details,
            type=INTERRUPTED_ERROR_TYPE,
            non_retryable=True,
        )


def resume_checkpoint(given: str | None) -> str | None:
    """The checkpoint a retried attempt heartbeated last (Temporal keeps heartbeat details
    across attempts), else the one the workflow passed in after an interruption."""
    details = activity.info().heartbeat_details
    return details[1] if len(details) > 1 and details[1] else given
