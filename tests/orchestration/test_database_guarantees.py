"""Guarantees the database itself gives: the audit table's trigger (PostgreSQL), row locks on
state transitions (two concurrent cancels, one audit event), connection reuse settings."""

import threading

import pytest
from django.db import DatabaseError, close_old_connections, connection

from orchestration.exceptions import RunStateConflict
from orchestration.models import AuditEvent, WorkflowRun
from orchestration.services.audit import AuditAction, audit_event_record
from orchestration.services.runs import workflow_run_cancel

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL-only guarantee"
)


@postgresql_only
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE orchestration_auditevent SET outcome = 'failure'",
        "DELETE FROM orchestration_auditevent",
    ],
)
def test_the_database_rejects_changes_to_the_audit_log(transactional_db, orgs, statement):
    audit_event_record(action=AuditAction.MEMBERSHIP_SET, organization=orgs["acme"])
    with pytest.raises(DatabaseError, match="append-only"), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.filter(outcome="success").count() == AuditEvent.objects.count() == 1


@postgresql_only
def test_connections_come_from_a_bounded_pool(settings):
    """Under ASGI each request runs in a new thread: persistent connections would pile up
    (500 concurrent starts ran out of them); the process's pool is shared and bounded."""
    database = settings.DATABASES["default"]
    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["pool"]["max_size"] == 10


@pytest.mark.temporal
def test_two_concurrent_cancels_make_one_request_and_one_audit_event(
    live, api, demo_client, settings
):
    settings.TEMPORAL_TASK_QUEUE = "omnify-no-worker"  # the run stays RUNNING
    body = {"organization": "acme", "client": demo_client.pk, "platform": "ga4"}
    response = api("acme-operator").post("/api/temporal/workflows/platform-sync", body)
    run = WorkflowRun.objects.get(workflow_id=response.json()["workflow_id"])
    user = run.started_by

    barrier = threading.Barrier(2)
    outcomes = []

    def cancel():
        try:
            barrier.wait()
            workflow_run_cancel(user=user, run=run)
            outcomes.append("cancelled")
        except RunStateConflict:
            outcomes.append("conflict")
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=cancel) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["cancelled", "conflict"]
    assert run.audit_events.filter(action="workflow.cancel").count() == 1
