"""Starting, cancelling and recording workflow runs.

Each function writes the run and its audit event in one transaction and talks to Temporal
only outside it, so a failure leaves a truthful row (START_FAILED), never one that claims
RUNNING. Every status change goes through the run-state door (`run_state.run_transition`).
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization
from orchestration import authorization, metrics
from orchestration.contract import registry
from orchestration.contract.protocol import RunStatusReport
from orchestration.exceptions import RunStateConflict, TemporalUnavailable
from orchestration.models import AuditEvent, WorkflowRun
from orchestration.temporal.bridge import (
    Execution,
    WorkflowAlreadyStarted,
    WorkflowNotFound,
    get_bridge,
)
from orchestration.temporal.workflow_ids import workflow_id_for

from .audit import AuditAction, audit_event_record
from .policies import workflow_policy
from .run_state import (
    TEMPORAL_STATUS,
    Event,
    TemporalStart,
    is_legal,
    run_event_record,
    run_shown_started,
    run_transition,
)

logger = logging.getLogger(__name__)
Status = WorkflowRun.Status


@dataclass(frozen=True)
class Starter:
    """Who starts a run: a user, or something that is no user (`name`: an accepted webhook
    delivery), and how long Temporal waits before the run's first task."""

    user: AbstractBaseUser | None = None
    name: str = ""
    start_delay_seconds: int = 0

    @property
    def username(self) -> str:
        return self.user.get_username() if self.user is not None else self.name

    def event(self, action: AuditAction, **fields: Any) -> Event:
        return Event(action, actor=self.user, actor_name=self.name, **fields)


def workflow_run_start(
    *,
    user: AbstractBaseUser,
    organization: Organization,
    workflow_type: str,
    params: dict[str, Any],
    idempotency_key: str = "",
    retry_of: WorkflowRun | None = None,
) -> tuple[WorkflowRun, bool]:
    """Record a run and start its workflow. Returns (run, created).

    `params` is what the type's start serializer validated (its unit builds the workflow's
    input from it). Guarantees: the type is registered (UnknownWorkflowType otherwise); the
    caller holds the type's permission in the organization (PermissionDenied otherwise); the
    PENDING row and its audit event commit together before Temporal is asked;
    the workflow id is derived from the row, so a repeated start can't make a second
    execution; an `idempotency_key` already used in this organization for this type returns
    the original run with created=False, or, if that run failed to start, starts it again;
    when Temporal is unreachable the run ends START_FAILED with an audit event and
    TemporalUnavailable is raised.
    """
    authorization.require_start(user, organization, workflow_type)
    return _start(
        Starter(user=user), organization, workflow_type, params, idempotency_key, retry_of
    )


def workflow_run_start_unattended(
    *,
    actor_name: str,
    organization: Organization,
    workflow_type: str,
    params: dict[str, Any],
    idempotency_key: str,
    start_delay_seconds: int = 0,
) -> tuple[WorkflowRun, bool]:
    """Start a run no user asked for (an accepted webhook delivery: its caller checked the
    sender), with `workflow_run_start`'s guarantees otherwise; `actor_name` names the sender
    in the audit log. Temporal begins the run `start_delay_seconds` after it is started.
    A repeated `idempotency_key` returns its run without an event of its own (the caller
    audits each delivery)."""
    starter = Starter(name=actor_name, start_delay_seconds=start_delay_seconds)
    return _start(starter, organization, workflow_type, params, idempotency_key, None)


def _start(
    starter: Starter,
    organization: Organization,
    workflow_type: str,
    params: dict[str, Any],
    idempotency_key: str,
    retry_of: WorkflowRun | None,
) -> tuple[WorkflowRun, bool]:
    if idempotency_key:
        existing = _replay(starter, organization, workflow_type, idempotency_key)
        if existing is not None:
            return _start_again_if_it_failed(existing, starter)
    try:
        with transaction.atomic(durable=True):
            run = WorkflowRun(
                organization=organization,
                workflow_type=workflow_type,
                input=params,
                started_by=starter.user,
                idempotency_key=idempotency_key,
                retry_of=retry_of,
            )
            run.workflow_id = workflow_id_for(workflow_type, organization.pk, str(run.id))
            run.save(force_insert=True)
            audit_event_record(
                action=AuditAction.WORKFLOW_RETRY if retry_of else AuditAction.WORKFLOW_START,
                actor=starter.user,
                actor_name=starter.name,
                run=run,
                payload={"input": params, "retry_of": retry_of.workflow_id if retry_of else None},
            )
    except IntegrityError:
        # Another request with the same idempotency key won the race.
        existing = _replay(starter, organization, workflow_type, idempotency_key)
        if existing is None:
            raise
        return _start_again_if_it_failed(existing, starter)
    _start_in_temporal(run, starter)
    return run, True


def _start_again_if_it_failed(run: WorkflowRun, starter: Starter) -> tuple[WorkflowRun, bool]:
    """A client repeating a start (same Idempotency-Key) after a 503 means "try again": the
    same run, with the same workflow id, is started anew; any other run is just returned."""
    if run.status != Status.START_FAILED:
        return run, False
    _start_in_temporal(run, starter)
    return run, True


def _replay(
    starter: Starter, organization: Organization, workflow_type: str, key: str
) -> WorkflowRun | None:
    if not key:
        return None
    run = (
        WorkflowRun.objects.select_related("organization", "started_by")
        .filter(organization=organization, workflow_type=workflow_type, idempotency_key=key)
        .first()
    )
    if run is not None and starter.user is not None:
        with transaction.atomic():
            audit_event_record(
                action=AuditAction.WORKFLOW_IDEMPOTENT_REPLAY,
                actor=starter.user,
                run=run,
                payload={"idempotency_key": key},
            )
    return run


def _start_in_temporal(run: WorkflowRun, starter: Starter) -> None:
    policy = workflow_policy(run.workflow_type)
    arg = registry.get_definition(run.workflow_type).build_input(
        run_pk=str(run.pk), organization_id=run.organization_id, policy=policy, params=run.input
    )
    began = time.perf_counter()
    try:
        try:
            run_id = get_bridge().start_workflow(
                workflow=run.workflow_type,
                arg=arg,
                workflow_id=run.workflow_id,
                task_queue=settings.TEMPORAL_TASK_QUEUE,
                execution_timeout=policy.execution_timeout_seconds,
                start_delay=starter.start_delay_seconds,
            )
        except WorkflowAlreadyStarted as started:
            run_id = str(started)
    except TemporalUnavailable as error:
        metrics.WORKFLOW_START_FAILURES.labels(run.workflow_type).inc()
        logger.warning(
            "workflow start failed: Temporal unavailable",
            extra={"workflow_id": run.workflow_id, "organization": run.organization.slug},
        )
        failed = starter.event(
            AuditAction.WORKFLOW_START_FAILED,
            payload={"error": str(error)},
            outcome=AuditEvent.Outcome.FAILURE,
        )
        with transaction.atomic():
            run.refresh_from_db()
            if run.status == Status.PENDING:
                run_transition(run=run, to=Status.START_FAILED, event=failed, error=str(error))
            else:
                if run.status == Status.START_FAILED:
                    run.error = str(error)
                    run.save(update_fields=["error"])
                run_event_record(run=run, event=failed)
        raise
    metrics.WORKFLOW_STARTS.labels(run.workflow_type).inc()
    metrics.WORKFLOW_START_LATENCY.labels(run.workflow_type).observe(time.perf_counter() - began)
    logger.info(
        "workflow started",
        extra={
            "workflow_id": run.workflow_id,
            "workflow_type": run.workflow_type,
            "organization": run.organization.slug,
            "user": starter.username,
        },
    )
    try:
        with transaction.atomic():
            locked = WorkflowRun.objects.select_for_update().get(pk=run.pk)
            if locked.status in (Status.PENDING, Status.START_FAILED):
                run_transition(
                    run=locked,
                    to=Status.RUNNING,
                    event=starter.event(AuditAction.WORKFLOW_STARTED, payload={"run_id": run_id}),
                    execution=TemporalStart(run_id=run_id),
                    error="",
                )
            elif not locked.run_id:
                # The workflow's first report moved the run on (and the door recorded its
                # start); only the run id is news.
                locked.run_id = run_id
                locked.save(update_fields=["run_id"])
        for field in WorkflowRun._meta.concrete_fields:  # the caller's object, without a query
            setattr(run, field.attname, getattr(locked, field.attname))
    except DatabaseError as error:
        # Temporal has the workflow: the caller must hear that it started. The row says
        # PENDING until the workflow's first status report (or reconcile) records RUNNING,
        # and with it the start (run_state records it once).
        logger.warning(
            "workflow started but not yet recorded as running: %s",
            error,
            extra={"workflow_id": run.workflow_id},
        )
        run_shown_started(run=run, run_id=run_id)


def _lock_running(run: WorkflowRun, verb: str) -> WorkflowRun:
    """The run's row, locked for this transaction; RunStateConflict unless it is RUNNING."""
    locked = WorkflowRun.objects.select_for_update().select_related("organization").get(pk=run.pk)
    if locked.status != Status.RUNNING:
        raise RunStateConflict(f"Only a running run can be {verb}; this one is {locked.status}.")
    return locked


def _temporal_call_failed(
    error: Exception, *, user: AbstractBaseUser, run: WorkflowRun, action: AuditAction
) -> Exception:
    """Audit an operation Temporal could not carry out; return the error to raise."""
    audit_event_record(
        action=action,
        actor=user,
        run=run,
        payload={"error": str(error)},
        outcome=AuditEvent.Outcome.FAILURE,
    )
    if isinstance(error, WorkflowNotFound):
        return RunStateConflict(
            "Temporal has no open execution for this run; `manage.py reconcile_runs` "
            "will record what became of it."
        )
    return error


def workflow_run_cancel(*, user: AbstractBaseUser, run: WorkflowRun) -> WorkflowRun:
    """Ask Temporal to cancel a running run.

    Guarantees: the caller may run this workflow type in the run's organization; a run that is
    not RUNNING raises RunStateConflict; the request is audited before Temporal is asked, and
    when Temporal can't be reached the request is withdrawn, audited as failed, and
    TemporalUnavailable raised. The run becomes CANCELED when the workflow reports it.
    """
    authorization.require_cancel(user, run)
    with transaction.atomic(durable=True):
        run = _lock_running(run, "cancelled")
        if run.cancel_requested_at is not None:
            raise RunStateConflict("Cancellation of this run has already been requested.")
        run.cancel_requested_at = timezone.now()
        run.cancel_requested_by = user
        run.save(update_fields=["cancel_requested_at", "cancel_requested_by"])
        audit_event_record(action=AuditAction.WORKFLOW_CANCEL, actor=user, run=run)
    try:
        get_bridge().cancel_workflow(run.workflow_id)
    except (TemporalUnavailable, WorkflowNotFound) as error:
        with transaction.atomic():
            WorkflowRun.objects.filter(pk=run.pk).update(
                cancel_requested_at=None, cancel_requested_by=None
            )
            raise _temporal_call_failed(
                error, user=user, run=run, action=AuditAction.WORKFLOW_CANCEL_FAILED
            ) from error
    metrics.WORKFLOW_CANCELS.labels(run.workflow_type).inc()
    logger.info(
        "workflow cancel requested",
        extra={"workflow_id": run.workflow_id, "organization": run.organization.slug},
    )
    return run


def workflow_run_terminate(*, user: AbstractBaseUser, run: WorkflowRun, reason: str) -> WorkflowRun:
    """Terminate a running run at once (no cleanup in the workflow), recording why.

    Guarantees: managers and admins only; a run that isn't RUNNING raises RunStateConflict; the
    request is audited before Temporal is asked; once Temporal confirms, the run is TERMINATED
    with its status change audited; when Temporal can't be reached the failure is audited and
    TemporalUnavailable raised.
    """
    reason = reason.strip()
    if not reason:
        raise ValueError("A reason is required to terminate a run.")
    authorization.require_manage(user, run)
    with transaction.atomic(durable=True):
        run = _lock_running(run, "terminated")
        audit_event_record(
            action=AuditAction.WORKFLOW_TERMINATE, actor=user, run=run, payload={"reason": reason}
        )
    try:
        get_bridge().terminate_workflow(run.workflow_id, f"{reason} (by {user.get_username()})")
    except (TemporalUnavailable, WorkflowNotFound) as error:
        with transaction.atomic():
            raise _temporal_call_failed(
                error, user=user, run=run, action=AuditAction.WORKFLOW_TERMINATE_FAILED
            ) from error
    with transaction.atomic():
        run = WorkflowRun.objects.select_for_update().select_related("organization").get(pk=run.pk)
        if run.status == Status.RUNNING:
            run_transition(
                run=run,
                to=Status.TERMINATED,
                event=Event(
                    AuditAction.WORKFLOW_STATUS,
                    actor=user,
                    payload={"from": Status.RUNNING, "to": Status.TERMINATED, "error": reason},
                ),
                error=f"Terminated by {user.get_username()}: {reason}",
            )
    return run


def workflow_run_retry(
    *, user: AbstractBaseUser, run: WorkflowRun, params: dict[str, Any]
) -> WorkflowRun:
    """Start a new run of a finished run's workflow, linked to it by `retry_of`.

    `params` is the new run's input (the caller validates it like a start; usually the old
    input with some fields overridden). Managers and admins only; a run that hasn't finished
    raises RunStateConflict.
    """
    authorization.require_manage(user, run)
    if not run.is_terminal:
        raise RunStateConflict(f"Only a finished run can be retried; this one is {run.status}.")
    new_run, _ = workflow_run_start(
        user=user,
        organization=run.organization,
        workflow_type=run.workflow_type,
        params=params,
        retry_of=run,
    )
    return new_run


def workflow_run_refresh(*, user: AbstractBaseUser, run: WorkflowRun) -> str | None:
    """Ask Temporal about one open run now and record what it says (an explicit refresh).
    Returns the new status, or None when the row already agreed."""
    authorization.require_manage(user, run)
    if run.is_terminal and run.status != Status.START_FAILED:
        return None
    try:
        execution = get_bridge().describe(run.workflow_id)
    except WorkflowNotFound:
        execution = None
    if execution is None and run.status == Status.START_FAILED:
        return None
    return workflow_run_reconcile(run=run, execution=execution)


def workflow_run_record_status(*, report: RunStatusReport, run_id: str = "") -> WorkflowRun:
    """Record what a workflow reported about itself: its step and, at the end, its outcome.
    `run_id` is the reporting execution's.

    Idempotent (reports are retried); a report that would leave a final state is logged and
    ignored, since the row already holds the truth.
    """
    with transaction.atomic():
        run = (
            WorkflowRun.objects.select_for_update()
            .select_related("organization")
            .get(pk=report.run)
        )
        fields: dict[str, Any] = {
            "current_step": report.current_step,
            "steps_done": report.steps_done,
        }
        if report.current_step != run.current_step and run.retrying:
            # The step that was being retried is done: the next one starts afresh.
            fields["retrying"] = False
        if report.status == run.status:
            for name, value in fields.items():
                setattr(run, name, value)
            run.save(update_fields=list(fields))
            return run
        if not is_legal(run, report.status):
            logger.warning("Ignoring %s report for %s run %s", report.status, run.status, run)
            return run
        started_at = datetime.fromisoformat(report.started_at) if report.started_at else None
        run_transition(
            run=run,
            to=report.status,
            event=Event(
                AuditAction.WORKFLOW_STATUS,
                payload={"from": run.status, "to": report.status, "error": report.error},
            ),
            execution=TemporalStart(run_id=run_id, started_at=started_at),
            result=report.result,
            error=report.error,
            **fields,
        )
    return run


def workflow_run_record_activity_attempt(
    *, workflow_id: str, activity: str, attempt: int, error: str, will_retry: bool
) -> None:
    """Record an activity attempt's failure (or a success after failures) on its run.

    Not a status change, so no audit event: the run's `retrying` flag and last failure are
    what the list and the run page show about activities that keep failing.
    """
    fields: dict[str, Any] = {"retrying": will_retry}
    if error:
        fields |= {
            "last_failure": error,
            "last_failure_activity": activity,
            "last_failure_attempt": attempt,
        }
    WorkflowRun.objects.filter(workflow_id=workflow_id).update(**fields)


def workflow_run_record_retry_started(*, workflow_id: str, activity: str, attempt: int) -> None:
    """A retry of an activity has started. When its previous attempt couldn't say why it
    ended (its worker died: nothing was recorded), say so, so the list's retrying badge and
    the run's last failure agree with Temporal's pending activity."""
    runs = WorkflowRun.objects.filter(workflow_id=workflow_id)
    unrecorded = ~Q(last_failure_activity=activity) | ~Q(last_failure_attempt=attempt - 1)
    runs.filter(unrecorded | Q(last_failure_attempt__isnull=True)).update(
        last_failure=f"Attempt {attempt - 1} did not finish: its worker stopped or timed out.",
        last_failure_activity=activity,
        last_failure_attempt=attempt - 1,
    )
    runs.update(retrying=True)


def workflow_run_reconcile(*, run: WorkflowRun, execution: Execution | None) -> str | None:
    """Make the row agree with Temporal. Returns the new status, or None when nothing changed.

    `execution` is what Temporal said (None: it has no such workflow).
    """
    if execution is None:
        if run.status == Status.START_FAILED:
            return None  # as recorded: the start never reached Temporal
        target, error = (
            (Status.START_FAILED, "Temporal never received the start.")
            if run.status == Status.PENDING
            else (Status.FAILED, "Temporal has no record of this execution.")
        )
        result = None
    else:
        target = TEMPORAL_STATUS.get(execution.status or "", run.status)
        result = execution.result if isinstance(execution.result, dict) else run.result
        error = execution.failure or run.error
    if target == run.status:
        return None
    with transaction.atomic():
        locked = WorkflowRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != run.status:
            return None  # the workflow reported meanwhile
        run_transition(
            run=locked,
            to=target,
            event=Event(
                AuditAction.WORKFLOW_RECONCILED,
                payload={
                    "from": locked.status,
                    "to": target,
                    "temporal_status": getattr(execution, "status", None),
                },
            ),
            execution=(
                TemporalStart(run_id=execution.run_id, started_at=execution.started_at)
                if execution is not None
                else TemporalStart()
            ),
            result=result,
            error=error,
        )
    return target


# A start that timed out may still have reached Temporal (the answer was lost, not the
# request): START_FAILED runs this recent are looked at again.
START_FAILED_RECHECK = timedelta(days=1)


def workflow_runs_reconcile(*, pending_grace_seconds: int = 60) -> list[tuple[WorkflowRun, str]]:
    """Reconcile every open run with Temporal, and recent START_FAILED ones. PENDING runs
    younger than the grace period are left alone: their start may still be in flight."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=pending_grace_seconds)
    open_runs = (
        WorkflowRun.objects.filter(status=Status.RUNNING)
        | WorkflowRun.objects.filter(status=Status.PENDING, created_at__lt=cutoff)
        | WorkflowRun.objects.filter(
            status=Status.START_FAILED, created_at__gte=now - START_FAILED_RECHECK
        )
    )
    changes = []
    bridge = get_bridge()
    for run in open_runs.select_related("organization").order_by("created_at"):
        try:
            execution = bridge.describe(run.workflow_id)
        except WorkflowNotFound:
            execution = None
        new_status = workflow_run_reconcile(run=run, execution=execution)
        if new_status:
            changes.append((run, new_status))
    return changes
