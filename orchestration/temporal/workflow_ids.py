"""Workflow ids: `<type>-<organization id>-<run uuid>`. The run's uuid makes a repeated start
a no-op; the organization id (a number, never its name or data) lets the payload codec name
the organization in each payload's metadata from the serialization context, which carries
the workflow id. Runs started before the organization was in the id (`<type>-<uuid>`) and the
maintenance workflows name none.

A Temporal Schedule's action has such an id (its uuid is the schedule's), and Temporal names
each execution it starts `<action id>-<RFC 3339 time, to the second>`: the suffix is allowed,
so a scheduled run's payloads are its organization's too."""

import re

_WORKFLOW_ID = re.compile(
    r"(?P<type>[a-z0-9-]+?)-(?P<organization>\d+)-(?P<run>[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12})"
    r"(?P<scheduled>-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)?"
)


def workflow_id_for(workflow_type: str, organization_id: int, run_id: str) -> str:
    return f"{workflow_type}-{organization_id}-{run_id}"


def organization_of(workflow_id: str) -> str | None:
    """The organization id in `workflow_id`, or None when it names none."""
    match = _WORKFLOW_ID.fullmatch(workflow_id)
    return match["organization"] if match else None


def schedule_of(workflow_id: str) -> str | None:
    """The schedule's uuid in the id of an execution a Temporal Schedule started, else None."""
    match = _WORKFLOW_ID.fullmatch(workflow_id)
    return match["run"] if match and match["scheduled"] else None
