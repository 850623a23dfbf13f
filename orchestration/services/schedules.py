"""Schedules: a workflow type started on a cron or an interval by a Temporal Schedule. Every
change goes through here.

Guarantees of each change (create, update, pause/unpause, trigger, delete): the caller may
start the schedule's workflow type in its organization (PermissionDenied otherwise); the
row and its audit event are written in one transaction, and Temporal is told inside it, so
when Temporal refuses (ScheduleInvalid) or can't be reached (TemporalUnavailable) the
transaction rolls back and nothing is half-written. The one gap left: Temporal agreed and
then the commit failed; `manage.py sync_schedules` reports (and `--prune` removes) a
Temporal schedule without a row. A schedule Temporal lost (a restore) is created again by
the next change to it, or by `sync_schedules`.

Note: the transaction is held open while Temporal answers (at most TEMPORAL_RPC_TIMEOUT);
on SQLite that is the write lock. Schedule changes are rare and short, so the consistency
is worth it.

Executions a schedule starts are recorded as runs by the worker when they start
(`workflow_run_register_scheduled`): the run's `schedule` names it, `started_by` is empty.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from accounts.models import Organization
from orchestration import authorization
from orchestration.contract import registry
from orchestration.contract.protocol import ScheduledRunStart
from orchestration.models import WorkflowRun, WorkflowSchedule
from orchestration.temporal import console_schedules as temporal
from orchestration.temporal.bridge import get_bridge
from orchestration.temporal.console_schedules import (
    ScheduleIntent,
    ScheduleMissing,
    ScheduleRefused,
    TemporalScheduleInfo,
)
from orchestration.temporal.cron import CronError, validate_cron
from orchestration.temporal.workflow_ids import schedule_of, workflow_id_for

from .audit import AuditAction, audit_event_record
from .policies import workflow_policy
from .run_state import Event, TemporalStart, run_transition

logger = logging.getLogger(__name__)

MIN_INTERVAL_SECONDS = 10
MAX_INTERVAL_SECONDS = 366 * 24 * 3600
NOTE = "Managed by the Omnify console: change it there (manage.py sync_schedules undoes edits)."


class ScheduleInvalid(ValueError):
    """The schedule as asked for can't be: `errors` is {field: [messages]}."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{name}: {' '.join(text)}" for name, text in errors.items()))
        self.errors = errors


class ScheduleGone(LookupError):
    """A scheduled execution names a schedule the console no longer has."""


def schedule_timing_errors(*, cron: str, interval_seconds: int | None) -> dict[str, list[str]]:
    """What is wrong with a schedule's timing: exactly one of a cron expression (five
    fields, UTC) and an interval of MIN_INTERVAL_SECONDS to MAX_INTERVAL_SECONDS."""
    if bool(cron) == (interval_seconds is not None):
        message = "Give either a cron expression or an interval in seconds, not both."
        if not cron:
            message = "Give either a cron expression or an interval in seconds."
        return {"cron": [message], "interval_seconds": [message]}
    if cron:
        try:
            validate_cron(cron)
        except CronError as error:
            return {"cron": [str(error)]}
    elif not MIN_INTERVAL_SECONDS <= interval_seconds <= MAX_INTERVAL_SECONDS:  # type: ignore[operator]
        return {
            "interval_seconds": [f"From {MIN_INTERVAL_SECONDS} to {MAX_INTERVAL_SECONDS} seconds."]
        }
    return {}


def schedule_intent(schedule: WorkflowSchedule, *, note: str = NOTE) -> ScheduleIntent:
    """What Temporal's schedule should say for this row."""
    policy = workflow_policy(schedule.workflow_type)
    return ScheduleIntent(
        schedule_id=temporal.temporal_schedule_id(schedule.pk),
        workflow_type=schedule.workflow_type,
        action_id=workflow_id_for(
            schedule.workflow_type, schedule.organization_id, str(schedule.pk)
        ),
        task_queue=settings.TEMPORAL_TASK_QUEUE,
        execution_timeout_seconds=policy.execution_timeout_seconds,
        input=registry.get_definition(schedule.workflow_type).build_input(
            run_pk="",
            organization_id=schedule.organization_id,
            policy=policy,
            params=schedule.params,
        ),
        cron=schedule.cron,
        interval_seconds=schedule.interval_seconds,
        paused=schedule.paused,
        overlap=schedule.overlap,
        pause_on_failure=schedule.pause_on_failure,
        note=note,
    )


def schedule_actor(schedule: WorkflowSchedule) -> str:
    """How a schedule is named where a run's starter is shown (and in the audit log)."""
    return f"schedule {str(schedule.pk)[:8]}"


def _audit(
    action: AuditAction, *, user: AbstractBaseUser | None, schedule: WorkflowSchedule, **payload
) -> None:
    audit_event_record(
        action=action,
        actor=user,
        organization=schedule.organization,
        payload={"schedule": str(schedule.pk), "workflow_type": schedule.workflow_type, **payload},
    )


def _settings(schedule: WorkflowSchedule) -> dict[str, Any]:
    return {
        "params": schedule.params,
        "cron": schedule.cron,
        "interval_seconds": schedule.interval_seconds,
        "paused": schedule.paused,
        "overlap": schedule.overlap,
        "pause_on_failure": schedule.pause_on_failure,
    }


def _refused(error: ScheduleRefused, schedule: WorkflowSchedule) -> ScheduleInvalid:
    which = "cron" if schedule.cron else "interval_seconds"
    return ScheduleInvalid({which: [f"Temporal refused the schedule: {error}"]})


def _put(schedule: WorkflowSchedule, *, create: bool) -> None:
    """Make Temporal's schedule say what the row says (created when it has none)."""
    bridge, intent = get_bridge(), schedule_intent(schedule)
    try:
        if create:
            temporal.schedule_create(bridge, intent)
        else:
            try:
                temporal.schedule_update(bridge, intent)
            except ScheduleMissing:
                temporal.schedule_create(bridge, intent)  # lost by Temporal: the row rules
    except ScheduleRefused as error:
        raise _refused(error, schedule) from error


def workflow_schedule_create(
    *,
    user: AbstractBaseUser,
    organization: Organization,
    workflow_type: str,
    params: dict[str, Any],
    cron: str = "",
    interval_seconds: int | None = None,
    paused: bool = False,
    overlap: str = WorkflowSchedule.Overlap.SKIP,
    pause_on_failure: bool = False,
) -> WorkflowSchedule:
    """Create a schedule and its Temporal Schedule. `params` is what the type's start
    serializer validated (less the organization), as for a start."""
    registry.get_definition(workflow_type)
    authorization.require_start(user, organization, workflow_type)
    cron = " ".join(cron.split())
    if errors := schedule_timing_errors(cron=cron, interval_seconds=interval_seconds):
        raise ScheduleInvalid(errors)
    with transaction.atomic():
        schedule = WorkflowSchedule.objects.create(
            organization=organization,
            workflow_type=workflow_type,
            params=params,
            cron=cron,
            interval_seconds=interval_seconds,
            paused=paused,
            overlap=overlap,
            pause_on_failure=pause_on_failure,
            created_by=user,
        )
        _audit(AuditAction.SCHEDULE_CREATE, user=user, schedule=schedule, **_settings(schedule))
        _put(schedule, create=True)
    logger.info(
        "schedule created",
        extra={"schedule": str(schedule.pk), "organization": organization.slug},
    )
    return schedule


UPDATABLE = {"params", "cron", "interval_seconds", "paused", "overlap", "pause_on_failure"}


def workflow_schedule_update(
    *, user: AbstractBaseUser, schedule: WorkflowSchedule, changes: dict[str, Any]
) -> WorkflowSchedule:
    """Change some of a schedule's settings (UPDATABLE; its organization and workflow type
    are fixed) and Temporal's schedule with them. Giving `cron` clears the interval and
    the other way round. `params`, when given, replaces the parameters whole (validated
    like a start by the caller)."""
    authorization.require_start(user, schedule.organization, schedule.workflow_type)
    if unknown := set(changes) - UPDATABLE:
        raise ScheduleInvalid({name: ["This can't change."] for name in sorted(unknown)})
    changes = dict(changes)
    if changes.get("cron"):
        changes["cron"] = " ".join(changes["cron"].split())
        changes.setdefault("interval_seconds", None)
    elif changes.get("interval_seconds") is not None:
        changes.setdefault("cron", "")
    with transaction.atomic():
        schedule = _locked(schedule)
        before = _settings(schedule)
        for name, value in changes.items():
            setattr(schedule, name, value)
        errors = schedule_timing_errors(
            cron=schedule.cron, interval_seconds=schedule.interval_seconds
        )
        if errors:
            raise ScheduleInvalid(errors)
        after = _settings(schedule)
        changed = {name: after[name] for name in after if after[name] != before[name]}
        schedule.save()
        _audit(
            AuditAction.SCHEDULE_UPDATE,
            user=user,
            schedule=schedule,
            changes=changed,
            previous={name: before[name] for name in changed},
        )
        _put(schedule, create=False)
    return schedule


def _locked(schedule: WorkflowSchedule) -> WorkflowSchedule:
    return (
        WorkflowSchedule.objects.select_for_update()
        .select_related("organization")
        .get(pk=schedule.pk)
    )


def workflow_schedule_set_paused(
    *, user: AbstractBaseUser, schedule: WorkflowSchedule, paused: bool
) -> WorkflowSchedule:
    """Pause or unpause (a no-op change is still told to Temporal, which may disagree)."""
    authorization.require_start(user, schedule.organization, schedule.workflow_type)
    with transaction.atomic():
        schedule = _locked(schedule)
        schedule.paused = paused
        schedule.save(update_fields=["paused", "updated_at"])
        _audit(
            AuditAction.SCHEDULE_PAUSE if paused else AuditAction.SCHEDULE_UNPAUSE,
            user=user,
            schedule=schedule,
        )
        verb = "Paused" if paused else "Unpaused"
        note = f"{verb} by {user.get_username()} in the Omnify console."
        try:
            temporal.schedule_set_paused(
                get_bridge(), temporal.temporal_schedule_id(schedule.pk), paused, note
            )
        except ScheduleMissing:
            _put(schedule, create=True)
    return schedule


def workflow_schedule_trigger(*, user: AbstractBaseUser, schedule: WorkflowSchedule) -> None:
    """Start the schedule's workflow now, as the schedule (its overlap policy applies; a
    paused schedule is triggered too). The run appears when its execution starts."""
    authorization.require_start(user, schedule.organization, schedule.workflow_type)
    schedule_id = temporal.temporal_schedule_id(schedule.pk)
    with transaction.atomic():
        _audit(AuditAction.SCHEDULE_TRIGGER, user=user, schedule=schedule)
        try:
            temporal.schedule_trigger(get_bridge(), schedule_id)
        except ScheduleMissing:
            _put(schedule, create=True)
            temporal.schedule_trigger(get_bridge(), schedule_id)


def workflow_schedule_delete(*, user: AbstractBaseUser, schedule: WorkflowSchedule) -> None:
    """Delete Temporal's schedule (one it doesn't have is fine), then the row, with an audit
    event. Runs it started keep running; their `schedule` becomes empty, and their
    `schedule.run_started` events still name it."""
    authorization.require_start(user, schedule.organization, schedule.workflow_type)
    with transaction.atomic():
        schedule = _locked(schedule)
        _audit(AuditAction.SCHEDULE_DELETE, user=user, schedule=schedule, **_settings(schedule))
        temporal.schedule_delete(get_bridge(), temporal.temporal_schedule_id(schedule.pk))
        schedule.delete()


def workflow_schedule_describe(*, schedule: WorkflowSchedule) -> TemporalScheduleInfo | None:
    """What Temporal says of the schedule now (next action times, recent actions); None
    when it has none. Raises TemporalUnavailable."""
    return temporal.schedule_describe(get_bridge(), temporal.temporal_schedule_id(schedule.pk))


def workflow_run_register_scheduled(*, start: ScheduledRunStart) -> WorkflowRun:
    """Record an execution a schedule started as a RUNNING run of that schedule, with a
    `schedule.run_started` audit event naming it, in one transaction. Idempotent (the
    worker retries it): the run with this workflow id is returned if it exists. Raises
    ScheduleGone when the schedule (of that organization and type) is no more."""
    existing = WorkflowRun.objects.filter(workflow_id=start.workflow_id).first()
    if existing is not None:
        return existing
    schedule = (
        WorkflowSchedule.objects.select_related("organization")
        .filter(
            pk=schedule_of(start.workflow_id),
            organization_id=start.organization_id,
            workflow_type=start.workflow_type,
        )
        .first()
        if schedule_of(start.workflow_id)
        else None
    )
    if schedule is None:
        raise ScheduleGone(
            f"{start.workflow_id} was started by a schedule the console no longer has; "
            "delete it from Temporal (manage.py sync_schedules --prune)."
        )
    try:
        with transaction.atomic():
            run = WorkflowRun.objects.create(
                organization=schedule.organization,
                workflow_type=schedule.workflow_type,
                workflow_id=start.workflow_id,
                input=schedule.params,
                schedule=schedule,
            )
            run_transition(
                run=run,
                to=WorkflowRun.Status.RUNNING,
                event=Event(
                    AuditAction.SCHEDULE_RUN_STARTED,
                    actor_name=schedule_actor(schedule),
                    payload={
                        "schedule": str(schedule.pk),
                        "schedule_name": str(schedule),
                        "run_id": start.run_id,
                        "input": schedule.params,
                    },
                ),
                execution=TemporalStart(
                    run_id=start.run_id, started_at=datetime.fromisoformat(start.started_at)
                ),
            )
    except IntegrityError:
        return WorkflowRun.objects.get(workflow_id=start.workflow_id)  # a retry won the race
    return run


@dataclass
class SyncResult:
    """One schedule as `workflow_schedules_sync` found it."""

    schedule_id: str
    state: str  # in_step, missing, drifted, orphan
    details: list[str] = field(default_factory=list)
    fixed: bool = False


def workflow_schedules_sync(*, apply: bool = True, prune: bool = False) -> list[SyncResult]:
    """Compare every schedule in the database with Temporal's. With `apply`, create the
    missing ones and bring drifted ones back to the row (each audited as schedule.synced);
    with `prune` too, delete Temporal's `omnify-schedule-*` schedules that have no row.
    Raises TemporalUnavailable."""
    bridge = get_bridge()
    results = []
    known = set()
    for schedule in WorkflowSchedule.objects.select_related("organization").order_by("created_at"):
        intent = schedule_intent(schedule)
        known.add(intent.schedule_id)
        info = temporal.schedule_describe(bridge, intent.schedule_id, intent)
        if info is None:
            result = SyncResult(intent.schedule_id, "missing", ["Temporal has no such schedule"])
        elif info.drift:
            result = SyncResult(intent.schedule_id, "drifted", info.drift)
        else:
            results.append(SyncResult(intent.schedule_id, "in_step"))
            continue
        if apply:
            with transaction.atomic():
                _audit(
                    AuditAction.SCHEDULE_SYNCED,
                    user=None,
                    schedule=schedule,
                    state=result.state,
                    details=result.details,
                )
                _put(schedule, create=info is None)
            result.fixed = True
        results.append(result)
    for schedule_id in sorted(set(temporal.schedule_ids(bridge)) - known):
        result = SyncResult(schedule_id, "orphan", ["no schedule in the database"])
        if apply and prune:
            temporal.schedule_delete(bridge, schedule_id)
            result.fixed = True
        results.append(result)
    return results
