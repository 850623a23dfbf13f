"""A worker killed (SIGKILL) in the middle of a run: a new worker finishes it within seconds,
whatever step was in flight, and every effect exists exactly once.

The worker here is `manage.py run_temporal_worker` in its own process on a task queue of its
own, on the suite's Temporal server and test database. To be sure it dies mid-step, another
process holds SQLite's write lock while the run starts, so the worker's activity (or status
report) is waiting on the database when it is killed.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.db import connection

from orchestration.models import Client, Dashboard, Integration
from orchestration.temporal import bridge as bridge_module
from tests.support import ROOT, WriteLock, suite_database_url, wait_for_status

pytestmark = [pytest.mark.temporal, pytest.mark.faults]

# Every activity's heartbeat timeout is 20 s: a dead worker's attempt is retried after it.
RESUMED_WITHIN = 60


def start_worker(address: str, task_queue: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "omnify.settings.test",
        "DATABASE_URL": suite_database_url(),
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_TASK_QUEUE": task_queue,
    }
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "run_temporal_worker", "--reconcile-interval", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(3)  # polling
    assert worker.poll() is None, "the worker did not start"
    return worker


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait(10)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="holds SQLite's write lock")
def test_an_onboarding_whose_worker_dies_mid_run_finishes_on_a_new_worker(
    live, api, settings, monkeypatch
):
    task_queue = f"omnify-crash-{uuid.uuid4().hex[:8]}"
    settings.TEMPORAL_TASK_QUEUE = task_queue
    locks: list[WriteLock] = []
    real_start = bridge_module.TemporalBridge.start_workflow

    def start_then_lock_the_database(self, **kwargs):
        run_id = real_start(self, **kwargs)
        locks.append(WriteLock())  # from now on the worker waits on the database
        return run_id

    monkeypatch.setattr(
        bridge_module.TemporalBridge, "start_workflow", start_then_lock_the_database
    )
    first = start_worker(live.address, task_queue)
    second = None
    try:
        body = {
            "organization": "acme",
            "client": {"name": "Initech", "email": "crash@initech.example", "platforms": ["ga4"]},
        }
        response = api("acme-operator").post(
            "/api/temporal/workflows/client-onboarding", body, format="json"
        )
        assert response.status_code == 202, response.content
        workflow_id = response.json()["workflow_id"]
        time.sleep(2)  # the worker has picked the run up and waits on the database
        kill(first)
        locks[0].release()
        killed_at = time.monotonic()
        second = start_worker(live.address, task_queue)
        run = wait_for_status(workflow_id, {"COMPLETED", "FAILED"}, timeout=RESUMED_WITHIN + 30)
        resumed_after = time.monotonic() - killed_at
    finally:
        for lock in locks:
            lock.release()
        kill(first)
        if second is not None:
            kill(second)

    assert run.status == "COMPLETED", run.error
    assert resumed_after < RESUMED_WITHIN
    client = Client.objects.get(email="crash@initech.example")
    assert Integration.objects.filter(client=client).count() == 1
    assert Dashboard.objects.filter(client=client).count() == 1
    assert run.result["client_id"] == client.pk
