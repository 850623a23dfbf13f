"""Temporal's history events and pending activities, turned into plain readable dicts."""

from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflow.v1 import PendingActivityInfo

_EVENT_PREFIX = "EVENT_TYPE_"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.lower().split("_"))


def _timestamp(value) -> str | None:
    moment = _datetime(value)
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _datetime(value) -> datetime | None:
    if value is None or (value.seconds == 0 and value.nanos == 0):
        return None
    return value.ToDatetime(tzinfo=UTC)


def readable_events(events: list[HistoryEvent]) -> list[dict]:
    """One dict per event: id, type, time, and where they apply activity, attempt, failure.
    Activity names come from the scheduled events on the same page."""
    activity_names: dict[int, str] = {}
    readable = []
    for event in events:
        kind = EventType.Name(event.event_type).removeprefix(_EVENT_PREFIX)
        item: dict[str, Any] = {
            "event_id": event.event_id,
            "type": _camel(kind),
            "time": _timestamp(event.event_time),
            "activity": None,
            "attempt": None,
            "failure": None,
        }
        field = event.WhichOneof("attributes")
        attributes = getattr(event, field) if field else None
        if attributes is not None:
            if kind == "ACTIVITY_TASK_SCHEDULED":
                activity_names[event.event_id] = attributes.activity_type.name
                item["activity"] = attributes.activity_type.name
            elif hasattr(attributes, "scheduled_event_id") and kind.startswith("ACTIVITY_TASK"):
                item["activity"] = activity_names.get(attributes.scheduled_event_id)
            if hasattr(attributes, "attempt") and kind.startswith("ACTIVITY_TASK"):
                item["attempt"] = attributes.attempt or None
            if hasattr(attributes, "failure") and attributes.HasField("failure"):
                item["failure"] = _innermost_message(attributes.failure)
        readable.append(item)
    return readable


def _innermost_message(failure) -> str:
    while failure.HasField("cause"):
        failure = failure.cause
    return failure.message


def _details_text(details: list[Any]) -> str | None:
    """The progress line of an activity's heartbeat: its first detail (what follows is for
    resuming, a checkpoint, not for people)."""
    return str(details[0]) if details else None


def readable_pending_activities(
    pending: list[PendingActivityInfo], heartbeat_details: list[list[Any]]
) -> list[dict]:
    """`heartbeat_details` holds each activity's decoded heartbeat details, in order."""
    return [
        {
            "activity": info.activity_type.name,
            "state": PendingActivityState.Name(info.state).removeprefix("PENDING_ACTIVITY_STATE_"),
            "attempt": info.attempt,
            "maximum_attempts": info.maximum_attempts or None,
            "last_failure": _innermost_message(info.last_failure)
            if info.HasField("last_failure")
            else None,
            "next_attempt_at": _timestamp(info.next_attempt_schedule_time)
            if info.HasField("next_attempt_schedule_time")
            else None,
            "last_heartbeat_at": _timestamp(info.last_heartbeat_time)
            if info.HasField("last_heartbeat_time")
            else None,
            "heartbeat_details": _details_text(details),
            "last_started_at": _timestamp(info.last_started_time)
            if info.HasField("last_started_time")
            else None,
        }
        for info, details in zip(pending, heartbeat_details, strict=True)
    ]


_ACTIVITY_ENDS = {
    "ACTIVITY_TASK_COMPLETED": "completed",
    "ACTIVITY_TASK_FAILED": "failed",
    "ACTIVITY_TASK_TIMED_OUT": "timed out",
    "ACTIVITY_TASK_CANCELED": "canceled",
}
_RUN_EVENTS = {
    "WORKFLOW_EXECUTION_STARTED": "run started",
    "WORKFLOW_EXECUTION_CANCEL_REQUESTED": "cancel requested",
    "WORKFLOW_EXECUTION_COMPLETED": "run completed",
    "WORKFLOW_EXECUTION_FAILED": "run failed",
    "WORKFLOW_EXECUTION_CANCELED": "run canceled",
    "WORKFLOW_EXECUTION_TERMINATED": "run terminated",
    "WORKFLOW_EXECUTION_TIMED_OUT": "run timed out",
}


def run_timeline(events: list[HistoryEvent]) -> list[dict]:
    """The history a person reads: the run's own status changes and one row per activity
    execution (its final attempt, with the failure of the attempt before it). Workflow-task
    events and the markers of the status-report local activity are left out.

    Temporal writes an activity's started event only with its last attempt, so earlier
    attempts are known by count and by the last one's failure, not one by one.
    """
    rows: list[dict] = []
    activities: dict[int, dict] = {}
    for event in events:
        kind = EventType.Name(event.event_type).removeprefix(_EVENT_PREFIX)
        field = event.WhichOneof("attributes")
        attributes = getattr(event, field) if field else None
        time = _datetime(event.event_time)
        if kind in _RUN_EVENTS:
            failure = getattr(attributes, "failure", None)
            rows.append(
                {
                    "kind": "run",
                    "label": _RUN_EVENTS[kind],
                    "started_at": time,
                    "failure": _innermost_message(failure)
                    if failure is not None and attributes.HasField("failure")
                    else None,
                }
            )
        elif kind == "ACTIVITY_TASK_SCHEDULED":
            row = {
                "kind": "activity",
                "label": attributes.activity_type.name,
                "started_at": time,
                "ended_at": None,
                "attempt": 1,
                "outcome": "running",
                "failure": None,
                "previous_failure": None,
            }
            activities[event.event_id] = row
            rows.append(row)
        elif kind == "ACTIVITY_TASK_STARTED":
            row = activities.get(attributes.scheduled_event_id)
            if row is not None:
                row["attempt"] = attributes.attempt or 1
                if attributes.HasField("last_failure"):
                    row["previous_failure"] = _innermost_message(attributes.last_failure)
        elif kind in _ACTIVITY_ENDS:
            row = activities.get(attributes.scheduled_event_id)
            if row is not None:
                row["ended_at"] = time
                row["outcome"] = _ACTIVITY_ENDS[kind]
                if hasattr(attributes, "failure") and attributes.HasField("failure"):
                    row["failure"] = _innermost_message(attributes.failure)
    return rows
