"""The one door for run state (docs/architecture.md, rule 3 and "The run state machine").

`run_transition` is the only code that writes `WorkflowRun.status` (a test holds every other
module to it): it refuses an illegal change, applies the timestamps that go with the new
state, saves the row and writes the change's audit event, in the caller's transaction.
Whoever tells it first that a run has left PENDING (or START_FAILED) for a state Temporal
gave (the start's answer, the workflow's report, reconcile, a schedule registering its run)
gets the run its `workflow.started` record: once, with the execution's run id and the time
Temporal started it when they are known.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from orchestration.exceptions import RunStateConflict
from orchestration.models import AuditEvent, WorkflowRun

from .audit import AuditAction, audit_event_record

Status = WorkflowRun.Status

# Legal status changes. Terminal states are final, except START_FAILED, which Temporal's own
# word (a workflow report or reconcile) may correct when a start we gave up on did go through.
_FROM_TEMPORAL = {
    Status.RUNNING,
    Status.COMPLETED,
    Status.FAILED,
    Status.CANCELED,
    Status.TERMINATED,
    Status.TIMED_OUT,
}
TRANSITIONS: dict[str, set[str]] = {
    Status.PENDING: _FROM_TEMPORAL | {Status.START_FAILED},
    Status.RUNNING: _FROM_TEMPORAL - {Status.RUNNING},
    Status.START_FAILED: set(_FROM_TEMPORAL),
}

# Temporal's execution statuses, in the run's vocabulary.
TEMPORAL_STATUS = {
    "RUNNING": Status.RUNNING,
    "CONTINUED_AS_NEW": Status.RUNNING,
    "COMPLETED": Status.COMPLETED,
    "FAILED": Status.FAILED,
    "CANCELED": Status.CANCELED,
    "TERMINATED": Status.TERMINATED,
    "TIMED_OUT": Status.TIMED_OUT,
}

# The audit actions that are themselves a run's start record.
_START_RECORDS = {AuditAction.WORKFLOW_STARTED, AuditAction.SCHEDULE_RUN_STARTED}
_NOT_STARTED = {Status.PENDING, Status.START_FAILED}


@dataclass(frozen=True)
class Event:
    """The audit event a transition writes."""

    action: AuditAction
    actor: AbstractBaseUser | None = None
    actor_name: str = ""
    payload: dict[str, Any] | None = None
    outcome: str = AuditEvent.Outcome.SUCCESS


@dataclass(frozen=True)
class TemporalStart:
    """What Temporal said about the execution, where the caller knows it."""

    run_id: str = ""
    started_at: datetime | None = None


def is_legal(run: WorkflowRun, to: str) -> bool:
    return to in TRANSITIONS.get(run.status, set())


def run_transition(
    *,
    run: WorkflowRun,
    to: str,
    event: Event,
    execution: TemporalStart = TemporalStart(),
    **fields: Any,
) -> None:
    """Move `run` (locked by the caller, inside its transaction) to `to`, with `fields`, and
    record `event`. Raises RunStateConflict for a change the state machine doesn't allow.

    RUNNING sets `started_at` (Temporal's start time when given, which also dates a run that
    leaves PENDING straight for its outcome) unless it is set; a terminal
    state other than START_FAILED sets `closed_at`; any terminal state clears `retrying`. An
    execution's run id fills an empty `run_id`."""
    if not is_legal(run, to):
        raise RunStateConflict(f"A {run.status} run cannot become {to}.")
    left_unstarted = run.status in _NOT_STARTED and to in _FROM_TEMPORAL
    now = timezone.now()
    changed = {"status"}
    run.status = to
    if run.started_at is None and (
        to == Status.RUNNING or (left_unstarted and execution.started_at)
    ):
        run.started_at = execution.started_at or now
        changed.add("started_at")
    if to in WorkflowRun.TERMINAL and to != Status.START_FAILED:
        run.closed_at = now
        changed.add("closed_at")
    if to in WorkflowRun.TERMINAL:
        run.retrying = False
        changed.add("retrying")
    if execution.run_id and not run.run_id:
        run.run_id = execution.run_id
        changed.add("run_id")
    for name, value in fields.items():
        setattr(run, name, value)
        changed.add(name)
    run.save(update_fields=sorted(changed))
    if left_unstarted and event.action not in _START_RECORDS:
        _record_started_once(run, execution)
    run_event_record(run=run, event=event)


def _record_started_once(run: WorkflowRun, execution: TemporalStart) -> None:
    """The start record of a run whose start was not recorded when Temporal accepted it (the
    database was locked or down then, or the workflow's report came first)."""
    if run.audit_events.filter(action__in=_START_RECORDS).exists():
        return
    started_at = execution.started_at or run.started_at
    audit_event_record(
        action=AuditAction.WORKFLOW_STARTED,
        actor=run.started_by,
        run=run,
        payload={
            "run_id": execution.run_id or run.run_id,
            "started_at": started_at.isoformat() if started_at else None,
        },
    )


def run_event_record(*, run: WorkflowRun, event: Event) -> None:
    """Record `event` about `run` where its status doesn't change (a refused start retried, a
    report of the status the row already holds)."""
    audit_event_record(
        action=event.action,
        actor=event.actor,
        actor_name=event.actor_name,
        run=run,
        payload=event.payload,
        outcome=event.outcome,
    )


def run_shown_started(*, run: WorkflowRun, run_id: str) -> None:
    """The caller's copy of `run` as Temporal has it when the database couldn't record the
    start (locked or down): RUNNING, unsaved. The workflow's first report (or reconcile)
    records it through `run_transition`, with its start."""
    run.status, run.run_id, run.started_at, run.error = Status.RUNNING, run_id, timezone.now(), ""
