"""The console's schedules as Temporal Schedules: the translation of what a WorkflowSchedule
row says (a `ScheduleIntent`, built by orchestration.services.schedules) into a Temporal
`Schedule`, the operations on it (each a sync call through the bridge), and the comparison
that tells `manage.py sync_schedules` where Temporal has drifted from the database.

Temporal's schedule id is `omnify-schedule-<schedule uuid>`; its action's workflow id is
`<type>-<organization id>-<schedule uuid>` (workflow_ids.py), which Temporal suffixes with
the time of each execution it starts, so every execution's id still names the organization
(its payloads are that organization's) and the schedule (how the worker registers it as a
run, `register_scheduled_run`). The action's input carries `run=""`: the run is recorded
when the workflow starts, not before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from .bridge import TemporalBridge
from .cron import calendar_values, cron_calendar_values

T = TypeVar("T")

SCHEDULE_ID_PREFIX = "omnify-schedule-"
OVERLAP = {
    "skip": ScheduleOverlapPolicy.SKIP,
    "buffer_one": ScheduleOverlapPolicy.BUFFER_ONE,
    "allow_all": ScheduleOverlapPolicy.ALLOW_ALL,
}
# How far back Temporal starts actions it missed (its server or the schedule was down):
# one missed action is caught up, not a day's worth (Temporal's default is a year).
CATCHUP_WINDOW = timedelta(minutes=10)


class ScheduleRefused(Exception):
    """Temporal refused the schedule as given (e.g. a spec it doesn't accept)."""


class ScheduleMissing(Exception):
    """Temporal has no schedule with that id."""


def temporal_schedule_id(schedule_pk: Any) -> str:
    return f"{SCHEDULE_ID_PREFIX}{schedule_pk}"


@dataclass(frozen=True)
class ScheduleIntent:
    """Everything Temporal's schedule should say, as the console's row says it."""

    schedule_id: str
    workflow_type: str
    action_id: str
    task_queue: str
    execution_timeout_seconds: int
    input: Any  # the unit's input dataclass, with run=""
    cron: str
    interval_seconds: int | None
    paused: bool
    overlap: str
    pause_on_failure: bool
    note: str = ""

    def schedule(self) -> Schedule:
        if self.cron:
            spec = ScheduleSpec(cron_expressions=[self.cron])
        else:
            assert self.interval_seconds is not None
            spec = ScheduleSpec(
                intervals=[ScheduleIntervalSpec(every=timedelta(seconds=self.interval_seconds))]
            )
        return Schedule(
            action=ScheduleActionStartWorkflow(
                self.workflow_type,
                self.input,
                id=self.action_id,
                task_queue=self.task_queue,
                execution_timeout=timedelta(seconds=self.execution_timeout_seconds),
            ),
            spec=spec,
            policy=SchedulePolicy(
                overlap=OVERLAP[self.overlap],
                catchup_window=CATCHUP_WINDOW,
                pause_on_failure=self.pause_on_failure,
            ),
            state=ScheduleState(paused=self.paused, note=self.note or None),
        )


@dataclass(frozen=True)
class RecentAction:
    workflow_id: str
    scheduled_at: datetime
    started_at: datetime


@dataclass(frozen=True)
class TemporalScheduleInfo:
    """What Temporal says of a schedule now."""

    paused: bool
    note: str
    next_action_times: list[datetime]
    recent_actions: list[RecentAction]
    running_workflow_ids: list[str]
    action_count: int
    drift: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _info(description: ScheduleDescription, drift: list[str]) -> TemporalScheduleInfo:
    info = description.info
    return TemporalScheduleInfo(
        paused=description.schedule.state.paused,
        note=description.schedule.state.note or "",
        next_action_times=list(info.next_action_times),
        recent_actions=[
            RecentAction(
                workflow_id=getattr(result.action, "workflow_id", ""),
                scheduled_at=result.scheduled_at,
                started_at=result.started_at,
            )
            for result in reversed(info.recent_actions)  # newest first
        ],
        running_workflow_ids=[action.workflow_id for action in info.running_actions],
        action_count=info.num_actions,
        drift=drift,
    )


async def _drift(
    client: Client, intent: ScheduleIntent, description: ScheduleDescription
) -> list[str]:
    """Where Temporal's schedule differs from `intent`, one line each."""
    found = []
    held = description.schedule
    action = held.action
    if not isinstance(action, ScheduleActionStartWorkflow):
        return [f"action: Temporal's starts no workflow ({type(action).__name__})"]
    if action.workflow != intent.workflow_type:
        found.append(f"action: workflow type {action.workflow}, not {intent.workflow_type}")
    if action.id != intent.action_id:
        found.append(f"action: workflow id {action.id}, not {intent.action_id}")
    if action.task_queue != intent.task_queue:
        found.append(f"action: task queue {action.task_queue}, not {intent.task_queue}")
    timeout = timedelta(seconds=intent.execution_timeout_seconds)
    if action.execution_timeout != timeout:
        found.append(f"action: execution timeout {action.execution_timeout}, not {timeout}")
    converter = client.data_converter
    # describe() leaves the action's input as (encrypted) payloads.
    held_args: list[Any] = list(action.args)
    if held_args and all(isinstance(arg, Payload) for arg in held_args):
        try:
            held_args = list(await converter.decode(held_args))
        except Exception as error:  # a payload this deployment's keys don't open
            held_args = [f"<unreadable: {error}>"]
    wanted = converter.payload_converter.from_payloads(
        converter.payload_converter.to_payloads([intent.input])
    )
    if held_args != wanted:
        found.append("action: its input differs from the schedule's parameters and policy")
    spec = held.spec
    if intent.cron:
        held_calendars = {
            calendar_values(
                c.second, c.minute, c.hour, c.day_of_month, c.month, c.day_of_week, c.year
            )
            for c in spec.calendars
        }
        if (
            held_calendars != {cron_calendar_values(intent.cron)}
            or spec.intervals
            or spec.cron_expressions
        ):
            found.append(f"spec: Temporal's doesn't match the cron {intent.cron!r}")
    else:
        every = [(item.every, item.offset or timedelta(0)) for item in spec.intervals]
        wanted_every = [(timedelta(seconds=intent.interval_seconds or 0), timedelta(0))]
        if every != wanted_every or spec.calendars or spec.cron_expressions:
            found.append(f"spec: Temporal's isn't every {intent.interval_seconds} s")
    if spec.skip or spec.start_at or spec.end_at or spec.jitter or spec.time_zone_name:
        found.append("spec: Temporal's has exclusions, bounds, jitter or a time zone")
    if held.state.paused != intent.paused:
        found.append(f"paused: Temporal says {held.state.paused}, the console says {intent.paused}")
    policy = held.policy
    if policy.overlap != OVERLAP[intent.overlap]:
        found.append(f"overlap: Temporal says {policy.overlap.name}, the console {intent.overlap}")
    if policy.pause_on_failure != intent.pause_on_failure:
        found.append(
            f"pause_on_failure: Temporal says {policy.pause_on_failure}, "
            f"the console says {intent.pause_on_failure}"
        )
    if policy.catchup_window != CATCHUP_WINDOW:
        found.append(f"catchup window: {policy.catchup_window}, not {CATCHUP_WINDOW}")
    return found


def _call(bridge: TemporalBridge, operation: Callable[[Client], Awaitable[T]]) -> T:
    """Run `operation` through the bridge, Temporal's refusals as this module's errors
    (TemporalUnavailable stays the bridge's)."""

    async def run(client: Client) -> T:
        try:
            return await operation(client)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise ScheduleMissing(error.message) from error
            if error.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.FAILED_PRECONDITION):
                raise ScheduleRefused(error.message) from error
            raise

    return bridge.call(run)


def _replace(intent: ScheduleIntent) -> Callable[[ScheduleUpdateInput], ScheduleUpdate]:
    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=intent.schedule())

    return update


def schedule_create(bridge: TemporalBridge, intent: ScheduleIntent) -> None:
    """Create the schedule; one Temporal has already (a retried call) is brought in line."""

    async def create(client: Client) -> None:
        try:
            await client.create_schedule(
                intent.schedule_id, intent.schedule(), rpc_timeout=bridge._rpc_timeout()
            )
        except ScheduleAlreadyRunningError:
            handle = client.get_schedule_handle(intent.schedule_id)
            await handle.update(_replace(intent), rpc_timeout=bridge._rpc_timeout())

    _call(bridge, create)


def schedule_update(bridge: TemporalBridge, intent: ScheduleIntent) -> None:
    """Make Temporal's schedule say what `intent` says, whole. ScheduleMissing if it has none."""

    async def update(client: Client) -> None:
        handle = client.get_schedule_handle(intent.schedule_id)
        await handle.update(_replace(intent), rpc_timeout=bridge._rpc_timeout())

    _call(bridge, update)


def schedule_set_paused(bridge: TemporalBridge, schedule_id: str, paused: bool, note: str) -> None:
    async def pause(client: Client) -> None:
        handle = client.get_schedule_handle(schedule_id)
        if paused:
            await handle.pause(note=note, rpc_timeout=bridge._rpc_timeout())
        else:
            await handle.unpause(note=note, rpc_timeout=bridge._rpc_timeout())

    _call(bridge, pause)


def schedule_trigger(bridge: TemporalBridge, schedule_id: str) -> None:
    """Start the action now (the schedule's overlap policy applies)."""

    async def trigger(client: Client) -> None:
        await client.get_schedule_handle(schedule_id).trigger(rpc_timeout=bridge._rpc_timeout())

    _call(bridge, trigger)


def schedule_delete(bridge: TemporalBridge, schedule_id: str) -> bool:
    """Delete the schedule; False when Temporal had none (that's fine too)."""

    async def delete(client: Client) -> None:
        await client.get_schedule_handle(schedule_id).delete(rpc_timeout=bridge._rpc_timeout())

    try:
        _call(bridge, delete)
    except ScheduleMissing:
        return False
    return True


def schedule_describe(
    bridge: TemporalBridge, schedule_id: str, intent: ScheduleIntent | None = None
) -> TemporalScheduleInfo | None:
    """What Temporal says of the schedule (and, given `intent`, where it drifted from it);
    None when Temporal has none."""

    async def describe(client: Client) -> TemporalScheduleInfo:
        handle = client.get_schedule_handle(schedule_id)
        description = await handle.describe(rpc_timeout=bridge._rpc_timeout())
        drift = await _drift(client, intent, description) if intent is not None else []
        return _info(description, drift)

    try:
        return _call(bridge, describe)
    except ScheduleMissing:
        return None


def schedule_ids(bridge: TemporalBridge) -> list[str]:
    """The ids of every console schedule Temporal holds (`omnify-schedule-*`)."""

    async def list_ids(client: Client) -> list[str]:
        found = []
        async for entry in await client.list_schedules(rpc_timeout=bridge._rpc_timeout()):
            if entry.id.startswith(SCHEDULE_ID_PREFIX):
                found.append(entry.id)
        return found

    return _call(bridge, list_ids)
