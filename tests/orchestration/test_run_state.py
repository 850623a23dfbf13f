"""The run state machine and the append-only audit log, at the service level."""

import pytest

from orchestration.contract.protocol import RunStatusReport
from orchestration.exceptions import RunStateConflict
from orchestration.models import AuditEvent, WorkflowRun
from orchestration.services.audit import AuditAction, audit_event_record
from orchestration.services.runs import workflow_run_cancel, workflow_run_record_status


@pytest.fixture
def run(orgs, users):
    return WorkflowRun.objects.create(
        organization=orgs["acme"],
        workflow_type="platform-sync",
        workflow_id="platform-sync-test",
        status="RUNNING",
        started_by=users["acme-operator"],
    )


def report(run, status, **fields):
    return workflow_run_record_status(
        report=RunStatusReport(run=str(run.pk), status=status, **fields)
    )


def test_reports_move_the_run_and_audit_each_status_change(run):
    report(run, "RUNNING", current_step="sync_platform_data")
    run.refresh_from_db()
    assert (run.status, run.current_step) == ("RUNNING", "sync_platform_data")
    assert not run.audit_events.exists()  # a step is progress, not a status change

    report(run, "COMPLETED", steps_done=["sync_platform_data"], result={"records": 3})
    run.refresh_from_db()
    assert (run.status, run.result, run.closed_at is not None) == (
        "COMPLETED",
        {"records": 3},
        True,
    )
    event = run.audit_events.get()
    assert (event.action, event.payload["from"], event.payload["to"]) == (
        "workflow.status",
        "RUNNING",
        "COMPLETED",
    )


@pytest.mark.parametrize("final", ["COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"])
def test_terminal_states_are_final(run, final):
    report(run, final)
    report(run, "RUNNING")  # a late or repeated report
    report(run, "COMPLETED" if final != "COMPLETED" else "FAILED")
    run.refresh_from_db()
    assert run.status == final
    assert run.audit_events.count() == 1


def test_start_failed_is_corrected_by_temporals_own_report(run):
    WorkflowRun.objects.filter(pk=run.pk).update(status="START_FAILED")
    report(run, "RUNNING")
    run.refresh_from_db()
    assert run.status == "RUNNING"


@pytest.mark.parametrize("status", ["PENDING", "COMPLETED", "START_FAILED"])
def test_only_running_runs_can_be_cancelled(run, users, status):
    WorkflowRun.objects.filter(pk=run.pk).update(status=status)
    with pytest.raises(RunStateConflict):
        workflow_run_cancel(user=users["acme-operator"], run=run)
    assert not AuditEvent.objects.filter(action__startswith="workflow.cancel").exists()


def test_audit_events_cannot_be_changed_or_deleted(run):
    event = audit_event_record(action=AuditAction.WORKFLOW_START, run=run)
    event.outcome = "failure"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).outcome == "success"


def test_the_retrying_badge_goes_once_the_next_step_starts(run):
    report(run, "RUNNING", current_step="validate_client_data")
    WorkflowRun.objects.filter(pk=run.pk).update(retrying=True, last_failure="worker stopped")
    report(run, "RUNNING", current_step="validate_client_data")  # the same step, again
    assert WorkflowRun.objects.get(pk=run.pk).retrying
    report(
        run,
        "RUNNING",
        current_step="setup_client_integrations",
        steps_done=["validate_client_data"],
    )
    assert not WorkflowRun.objects.get(pk=run.pk).retrying
