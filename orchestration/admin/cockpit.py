"""The run page's cockpit: what it shows about the run as it happens: its steps, the current
activity's attempt, failures and latest heartbeat, and a readable timeline.

The row says which step a run is on; only Temporal knows attempts, heartbeat details and
timings. Temporal is asked for the open run page only, at most once a second per run for the
pending activity and every few seconds (or once the row changes) for the timeline, and the
answer is shared by everyone watching that run in this process.
"""

import hashlib
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.cache import caches
from django.utils import timezone
from django.utils.connection import ConnectionProxy

from orchestration.exceptions import TemporalUnavailable
from orchestration.models import WorkflowRun
from orchestration.services.policies import workflow_policy
from orchestration.temporal.bridge import WorkflowNotFound, get_bridge

PENDING_TTL_SECONDS = 1.0
# What the live region shows besides its progress (records, audit events) isn't all in the
# row or Temporal's answer: a page whose version is unchanged still gets everything afresh
# at least this often.
FULL_REFRESH_SECONDS = 15
OPEN_TIMELINE_TTL_SECONDS = 3.0
CLOSED_TIMELINE_TTL_SECONDS = 300.0

# This process's memory, not the shared (database) default cache. The database cache isn't
# much slower per call (0.27 ms a set and get on SQLite, against 0.01 ms here), but a page
# polls every second and each answer lives a second or three, so it would take a write per
# open run page a second, on SQLite's one write lock that the worker needs too; and sharing
# with this process's viewers is enough (the striped locks below are per process anyway).
cache = ConnectionProxy(caches, "local")

# Striped locks: one Temporal call per key at a time, however many viewers ask at once.
_LOCKS = [threading.Lock() for _ in range(64)]


@dataclass
class Step:
    activity: str
    state: str  # done, current, failed, canceled, pending or skipped
    duration: timedelta | None = None
    attempts: int | None = None


@dataclass
class RunCockpit:
    run: WorkflowRun
    steps: list[Step]
    current_activity: dict | None = None
    timeline: list[dict] = field(default_factory=list)
    temporal_error: str = ""

    @property
    def retrying(self) -> bool:
        attempt = (self.current_activity or {}).get("attempt") or 1
        return self.run.status == WorkflowRun.Status.RUNNING and (self.run.retrying or attempt > 1)


def _shared(key: str, ttl: float, fetch: Callable[[], Any]) -> Any:
    """`fetch()`'s answer, cached for `ttl` seconds and computed once for concurrent callers.
    Temporal being down is an answer too (cached alike), so viewers don't pile onto it."""
    hit = cache.get(key)
    if hit is not None:
        return hit
    with _LOCKS[zlib.crc32(key.encode()) % len(_LOCKS)]:
        hit = cache.get(key)
        if hit is None:
            try:
                hit = ("ok", fetch())
            except (TemporalUnavailable, WorkflowNotFound) as error:
                hit = ("error", str(error) or "Temporal has no such execution.")
            cache.set(key, hit, ttl)
    return hit


def _fingerprint(run: WorkflowRun) -> str:
    # A digest: the parts hold timestamps, whose spaces aren't fit for a cache key.
    parts = (
        f"{run.status}:{run.current_step}:{len(run.steps_done)}:{run.retrying}:"
        f"{run.last_failure_attempt}:{run.cancel_requested_at}"
    )
    return hashlib.blake2b(parts.encode(), digest_size=8).hexdigest()


def _pending_activity(run: WorkflowRun) -> tuple[dict | None, str]:
    outcome, value = _shared(
        f"run-cockpit:pending:{run.workflow_id}",
        PENDING_TTL_SECONDS,
        lambda: list(get_bridge().describe(run.workflow_id).pending_activities),
    )
    if outcome == "error":
        return None, value
    current = [item for item in value if item["activity"] == run.current_step]
    return (current or value or [None])[0], ""


def _timeline(run: WorkflowRun) -> tuple[list[dict], str]:
    ttl = CLOSED_TIMELINE_TTL_SECONDS if run.is_terminal else OPEN_TIMELINE_TTL_SECONDS
    outcome, value = _shared(
        f"run-cockpit:timeline:{run.workflow_id}:{_fingerprint(run)}",
        ttl,
        lambda: get_bridge().timeline(run.workflow_id),
    )
    if outcome == "error":
        return [], value
    now = timezone.now()
    for row in value:
        if row["kind"] == "activity" and row["started_at"]:
            row["duration"] = (row["ended_at"] or now) - row["started_at"]
    return value, ""


def _step_state(run: WorkflowRun, activity: str) -> str:
    if activity in run.steps_done:
        return "done"
    if activity != run.current_step:
        return "skipped" if run.is_terminal else "pending"
    if not run.is_terminal:
        return "current"
    return "canceled" if run.status == WorkflowRun.Status.CANCELED else "failed"


def _steps(run: WorkflowRun, timeline: list[dict]) -> list[Step]:
    last_rows = {row["label"]: row for row in timeline if row["kind"] == "activity"}
    steps = []
    for policy in workflow_policy(run.workflow_type).activities:
        row = last_rows.get(policy.activity)
        steps.append(
            Step(
                activity=policy.activity,
                state=_step_state(run, policy.activity),
                duration=row.get("duration") if row else None,
                attempts=row["attempt"] if row else None,
            )
        )
    return steps


def run_cockpit(*, run: WorkflowRun, ask_temporal: bool = True) -> RunCockpit:
    """The run page's live state. `ask_temporal=False` gives the row's view alone (a run that
    never reached Temporal, or a caller that must not wait for it)."""
    if not ask_temporal or run.status == WorkflowRun.Status.START_FAILED:
        return RunCockpit(run=run, steps=_steps(run, []))
    timeline, error = _timeline(run)
    current = None
    if run.status == WorkflowRun.Status.RUNNING:
        current, pending_error = _pending_activity(run)
        error = error or pending_error
    return RunCockpit(
        run=run,
        steps=_steps(run, timeline),
        current_activity=current,
        timeline=timeline,
        temporal_error=error,
    )


def live_version(cockpit: RunCockpit) -> str:
    """A short digest of everything the run page's live region shows except what moves with
    the clock or the heartbeat (durations, heartbeat details, "3 s ago"): equal versions mean
    the page only needs its progress refreshed, not the whole region re-rendered.

    It covers the row's state, Temporal's error, the timeline's rows (without their running
    durations) and which activity is pending; records and audit events, which can change
    without either, are covered by a time bucket (`FULL_REFRESH_SECONDS`, offset per run so
    that the pages of many runs don't all re-render in the same second)."""
    run = cockpit.run
    offset = zlib.crc32(str(run.pk).encode()) % FULL_REFRESH_SECONDS
    parts = (
        run.status,
        run.current_step,
        tuple(run.steps_done),
        run.retrying,
        run.last_failure,
        run.last_failure_activity,
        run.last_failure_attempt,
        run.error,
        run.cancel_requested_at,
        run.cancel_requested_by_id,
        run.started_at,
        run.closed_at,
        run.result is None,
        cockpit.temporal_error,
        tuple(
            (
                row["kind"],
                row["label"],
                row.get("attempt"),
                row.get("outcome"),
                row.get("ended_at"),
                row.get("failure"),
                row.get("previous_failure"),
            )
            for row in cockpit.timeline
        ),
        (cockpit.current_activity or {}).get("activity"),
        cockpit.retrying,
        int((time.time() + offset) // FULL_REFRESH_SECONDS),
    )
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()
