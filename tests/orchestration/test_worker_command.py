"""`manage.py run_temporal_worker` as operators run it: a separate process that executes the
console's workflows, keeps the task queue's one reconcile schedule (which repairs runs that
can't report: a timeout, a terminate from outside), and stops cleanly on SIGTERM."""

import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from orchestration.models import WorkflowRun
from orchestration.temporal.bridge import get_bridge
from orchestration.worker.reconcile_schedule import reconcile_schedule_ensure, reconcile_schedule_id
from tests.support import wait_for_status

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.temporal
DONE = {"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}


def database_url() -> str:
    """The test database, as a URL the worker process can use."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def worker_process(live, settings):
    settings.TEMPORAL_TASK_QUEUE = f"worker-command-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "omnify.settings.local",
        "DATABASE_URL": database_url(),
        "TEMPORAL_ADDRESS": live.address,
        "TEMPORAL_TASK_QUEUE": settings.TEMPORAL_TASK_QUEUE,
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_temporal_worker", "--reconcile-interval", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    first_line = process.stdout.readline()
    assert "Worker polling task queue" in first_line, first_line
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()

    async def delete_schedule(client):
        await client.get_schedule_handle(
            reconcile_schedule_id(settings.TEMPORAL_TASK_QUEUE)
        ).delete()

    get_bridge().call(delete_schedule)


def test_the_worker_runs_workflows_reconciles_and_stops_on_sigterm(
    worker_process, api, demo_client
):
    body = {"organization": "acme", "client": demo_client.pk, "platform": "hubspot"}
    response = api("acme-operator").post("/api/temporal/workflows/platform-sync", body)
    run = wait_for_status(response.json()["workflow_id"], DONE)
    assert run.status == "COMPLETED", run.error

    # Terminated from outside the console, so no workflow code could report it.
    long = {"organization": "acme", "model": "churn", "params": {"epochs": 1_000_000}}
    response = api("acme-manager").post("/api/temporal/workflows/eyes-retrain", long, format="json")
    workflow_id = response.json()["workflow_id"]

    async def terminate(client):
        await client.get_workflow_handle(workflow_id).terminate("from the Temporal UI")

    get_bridge().call(terminate)
    reconciled = wait_for_status(workflow_id, DONE, timeout=20)
    assert reconciled.status == "TERMINATED"
    assert reconciled.audit_events.filter(action="workflow.reconciled").count() == 1

    worker_process.send_signal(signal.SIGTERM)
    assert worker_process.wait(60) == 0
    output = worker_process.stdout.read()
    assert "Worker stopped." in output
    assert WorkflowRun.objects.filter(status="RUNNING").count() == 0


def test_bad_arguments_are_refused_with_a_clear_message():
    result = subprocess.run(
        [sys.executable, "manage.py", "run_temporal_worker", "--max-concurrent-activities", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "--max-concurrent-activities must be at least 1" in result.stderr


def test_the_reconcile_schedule_is_one_per_task_queue_and_follows_the_interval(temporal_env):
    """Every worker of a deployment ensures the same schedule: the second one updates it."""
    task_queue = f"schedule-{uuid.uuid4().hex[:8]}"

    async def ensure_twice(client):
        first = await reconcile_schedule_ensure(client, task_queue=task_queue, interval_seconds=120)
        second = await reconcile_schedule_ensure(client, task_queue=task_queue, interval_seconds=30)
        handle = client.get_schedule_handle(first)
        description = await handle.describe()
        await handle.delete()
        return first, second, description

    first, second, description = get_bridge().call(ensure_twice, timeout=20)
    assert first == second == reconcile_schedule_id(task_queue)
    assert [spec.every for spec in description.schedule.spec.intervals] == [timedelta(seconds=30)]
    assert description.schedule.action.workflow == "reconcile-runs"
    assert description.schedule.action.task_queue == task_queue
