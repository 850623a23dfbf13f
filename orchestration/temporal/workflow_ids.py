"""Workflow ids: `<type>-<organization id>-<run uuid>`. The run's uuid makes a repeated start
a no-op; the organization id (a number, never its name or data) lets the payload codec name
the organization in each payload's metadata from the serialization context, which carries
the workflow id. Runs started before the organization was in the id (`<type>-<uuid>`) and the
maintenance workflows name none."""

import re

_WORKFLOW_ID = re.compile(
    r"(?P<type>[a-z0-9-]+?)-(?P<organization>\d+)-(?P<run>[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12})"
)


def workflow_id_for(workflow_type: str, organization_id: int, run_id: str) -> str:
    return f"{workflow_type}-{organization_id}-{run_id}"


def organization_of(workflow_id: str) -> str | None:
    """The organization id in `workflow_id`, or None when it names none."""
    match = _WORKFLOW_ID.fullmatch(workflow_id)
    return match["organization"] if match else None
