"""`manage.py reconcile_runs` makes open rows agree with Temporal when the workflow could not
report (a worker that died, a terminate from outside the console, a start lost in flight)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from orchestration.models import WorkflowRun
from orchestration.temporal.bridge import get_bridge
from tests.support import wait_for_status

pytestmark = pytest.mark.temporal
DONE = {"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}


def start_sync(api, demo_client):
    body = {"organization": "acme", "client": demo_client.pk, "platform": "ga4"}
    response = api("acme-operator").post(
        "/api/temporal/workflows/platform-sync", body, format="json"
    )
    assert response.status_code == 202
    return response.json()["workflow_id"]


def test_a_finished_run_whose_report_was_lost_is_completed(live, api, demo_client, capsys):
    workflow_id = start_sync(api, demo_client)
    finished = wait_for_status(workflow_id, DONE)
    assert finished.status == "COMPLETED"
    # The worker died after the workflow finished but before its report was recorded.
    WorkflowRun.objects.filter(pk=finished.pk).update(status="RUNNING", result=None, closed_at=None)

    call_command("reconcile_runs")

    run = WorkflowRun.objects.get(pk=finished.pk)
    assert run.status == "COMPLETED"
    assert run.result == finished.result
    assert run.closed_at is not None
    event = run.audit_events.get(action="workflow.reconciled")
    assert event.payload == {"from": "RUNNING", "to": "COMPLETED", "temporal_status": "COMPLETED"}
    assert f"{workflow_id}: RUNNING -> COMPLETED" in capsys.readouterr().out

    call_command("reconcile_runs")  # nothing left to fix: no second event
    assert run.audit_events.filter(action="workflow.reconciled").count() == 1


def test_a_run_terminated_outside_the_console_is_recorded(live, api, demo_client):
    body = {"organization": "acme", "model": "churn", "params": {"epochs": 1_000_000}}
    response = api("acme-manager").post("/api/temporal/workflows/eyes-retrain", body, format="json")
    workflow_id = response.json()["workflow_id"]

    async def terminate(client):
        await client.get_workflow_handle(workflow_id).terminate("operator pulled the plug")

    get_bridge().call(terminate)
    call_command("reconcile_runs")
    assert WorkflowRun.objects.get(workflow_id=workflow_id).status == "TERMINATED"


def test_a_pending_run_temporal_never_saw_becomes_start_failed(live, orgs, users):
    stale = WorkflowRun.objects.create(
        organization=orgs["acme"],
        workflow_type="platform-sync",
        workflow_id="platform-sync-never-started",
        started_by=users["acme-operator"],
    )
    fresh = WorkflowRun.objects.create(
        organization=orgs["acme"],
        workflow_type="platform-sync",
        workflow_id="platform-sync-in-flight",
        started_by=users["acme-operator"],
    )
    WorkflowRun.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    call_command("reconcile_runs", pending_grace=60)

    assert WorkflowRun.objects.get(pk=stale.pk).status == "START_FAILED"
    assert WorkflowRun.objects.get(pk=fresh.pk).status == "PENDING"


def test_a_start_that_timed_out_but_reached_temporal_is_corrected(live, api, demo_client, settings):
    """The answer was lost, not the request: the run was recorded START_FAILED while Temporal
    has it. Reconcile looks at recent START_FAILED runs again; those Temporal never saw stay."""
    settings.TEMPORAL_TASK_QUEUE = "omnify-no-worker"  # the run stays open in Temporal
    reached = start_sync(api, demo_client)
    WorkflowRun.objects.filter(workflow_id=reached).update(
        status="START_FAILED", error="Temporal did not answer within 3s."
    )
    lost = WorkflowRun.objects.create(
        organization=demo_client.organization,
        workflow_type="platform-sync",
        workflow_id="platform-sync-never-reached",
        status="START_FAILED",
    )

    call_command("reconcile_runs")

    run = WorkflowRun.objects.get(workflow_id=reached)
    assert run.status == "RUNNING"
    assert run.audit_events.filter(action="workflow.reconciled").count() == 1
    assert WorkflowRun.objects.get(pk=lost.pk).status == "START_FAILED"
