"""A busy database is a clear 503, never a 500: another process holds SQLite's write lock, or
a PostgreSQL lock on the runs' table (what a long migration, a backup or a wedged worker
does), and the console says
`database_unavailable` within its busy timeout, writes nothing half-way, reports itself not
ready, and takes writes again as soon as the lock is gone. A start that Temporal accepted
still answers 202 when the row can't be moved to RUNNING yet."""

import time

import pytest
from django.db import connection

from orchestration.models import AuditEvent, WorkflowRun
from orchestration.temporal import bridge as bridge_module
from tests.support import WriteLock, wait_for_status

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="a PostgreSQL lock on a table isn't the database unavailable: readiness and other "
    "pages go on (tests/faults/test_postgres_outage.py stops the server instead)",
)


@pytest.fixture
def write_lock():
    locks: list[WriteLock] = []

    def hold() -> WriteLock:
        locks.append(WriteLock())
        return locks[-1]

    yield hold
    for lock in locks:
        lock.release()


def sync_body(demo_client) -> dict:
    return {"organization": "acme", "client": demo_client.pk, "platform": "ga4"}


@pytest.mark.temporal
def test_a_start_while_the_database_is_locked_is_a_503_and_writes_nothing(
    live, api, demo_client, write_lock, settings
):
    client = api("acme-operator")
    lock = write_lock()
    began = time.monotonic()
    response = client.post(
        "/api/temporal/workflows/platform-sync", sync_body(demo_client), format="json"
    )
    waited = time.monotonic() - began
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "database_unavailable"
    assert waited < settings.LOCK_TIMEOUT_SECONDS + 3
    lock.release()
    assert WorkflowRun.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="workflow.").exists()

    # Once the lock is gone, the same request goes through; nothing was restarted.
    response = client.post(
        "/api/temporal/workflows/platform-sync", sync_body(demo_client), format="json"
    )
    assert response.status_code == 202
    wait_for_status(response.json()["workflow_id"], {"COMPLETED"})


@sqlite_only
def test_readiness_says_the_database_is_not_ready_while_it_is_locked(
    client, transactional_db, write_lock
):
    lock = write_lock()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "database" in response.json()["failed"]
    lock.release()
    assert "database" not in client.get("/readyz").json()["failed"]


def test_an_admin_write_while_the_database_is_locked_is_a_503_page(
    transactional_db, client, users, demo_client, write_lock
):
    client.force_login(users["acme-operator"])
    lock = write_lock()
    response = client.post(
        "/admin/orchestration/workflowrun/start/platform-sync/",
        {"organization": "acme", "client": demo_client.pk, "platform": "ga4"},
    )
    lock.release()
    assert response.status_code == 503
    assert b"Database unavailable" in response.content
    assert WorkflowRun.objects.count() == 0


@pytest.mark.temporal
def test_a_start_temporal_accepted_answers_202_even_if_running_cant_be_recorded_yet(
    live, api, demo_client, write_lock, monkeypatch, caplog
):
    real_start = bridge_module.TemporalBridge.start_workflow
    locks = []

    def start_then_lock_the_database(self, **kwargs):
        run_id = real_start(self, **kwargs)  # Temporal has the workflow now
        locks.append(write_lock())
        return run_id

    monkeypatch.setattr(
        bridge_module.TemporalBridge, "start_workflow", start_then_lock_the_database
    )
    response = api("acme-operator").post(
        "/api/temporal/workflows/platform-sync", sync_body(demo_client), format="json"
    )
    assert response.status_code == 202, response.content
    workflow_id = response.json()["workflow_id"]
    assert "started but not yet recorded as running" in caplog.text
    locks[0].release()
    # The workflow's own reports record what became of it, and (through the run-state door)
    # its start: once, with Temporal's run id and start time.
    run = wait_for_status(workflow_id, {"COMPLETED"})
    execution = bridge_module.get_bridge().describe(workflow_id)
    started = run.audit_events.filter(action="workflow.started")
    assert [event.payload for event in started] == [
        {"run_id": execution.run_id, "started_at": execution.started_at.isoformat()}
    ]
    assert (run.run_id, run.started_at) == (execution.run_id, execution.started_at)
