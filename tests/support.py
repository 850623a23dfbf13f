"""Helpers for tests (fixtures live in conftest.py)."""

import time


def wait_for_status(workflow_id: str, statuses: set[str], timeout: float = 30):
    """Poll the database until the run reaches one of `statuses`; return the run."""
    from orchestration.models import WorkflowRun

    deadline = time.monotonic() + timeout
    while True:
        run = WorkflowRun.objects.get(workflow_id=workflow_id)
        if run.status in statuses:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"{workflow_id} is {run.status}, expected one of {statuses}")
        time.sleep(0.1)
