"""Temporal's history events and pending activities, turned into plain readable dicts."""

from typing import Any

from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflow.v1 import PendingActivityInfo

_EVENT_PREFIX = "EVENT_TYPE_"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.lower().split("_"))


def _timestamp(value) -> str | None:
    if value is None or (value.seconds == 0 and value.nanos == 0):
        return None
    return value.ToDatetime().isoformat() + "Z"


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


def readable_pending_activities(pending: list[PendingActivityInfo]) -> list[dict]:
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
        }
        for info in pending
    ]
