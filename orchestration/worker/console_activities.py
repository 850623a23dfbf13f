"""The console's own activities, served by every worker beside the units' activities:
status reports, scheduled-run registration and reconcile. Each is a thin call into the run
services (orchestration.services)."""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from orchestration.contract.protocol import (
    RECONCILE_RUNS,
    REGISTER_SCHEDULED_RUN,
    REPORT_RUN_STATUS,
    SCHEDULE_MISSING_ERROR_TYPE,
    RunStatusReport,
    ScheduledRunStart,
)
from orchestration.services.runs import workflow_run_record_status, workflow_runs_reconcile
from orchestration.services.schedules import ScheduleGone, workflow_run_register_scheduled
from orchestration.workflows.activity import console_activity, count


@console_activity(RECONCILE_RUNS)
def reconcile_runs() -> int:
    changes = workflow_runs_reconcile()
    for run, status in changes:
        activity.logger.info("reconciled run %s: now %s", run.workflow_id, status)
    return len(changes)


@console_activity(REPORT_RUN_STATUS)
def report_run_status(report: RunStatusReport) -> None:
    workflow_run_record_status(report=report, run_id=activity.info().workflow_run_id)
    if report.status != "RUNNING":
        count(
            "omnify_workflow_completions",
            workflow_type=activity.info().workflow_type,
            outcome=report.status,
        )


@console_activity(REGISTER_SCHEDULED_RUN)
def register_scheduled_run(start: ScheduledRunStart) -> str:
    """Record an execution a Temporal Schedule started as a run; its primary key."""
    try:
        run = workflow_run_register_scheduled(start=start)
    except ScheduleGone as error:
        raise ApplicationError(
            str(error), type=SCHEDULE_MISSING_ERROR_TYPE, non_retryable=True
        ) from None
    return str(run.pk)


# The console's own activities, served by every worker beside the units' activities.
CONSOLE_ACTIVITIES = [report_run_status, reconcile_runs, register_scheduled_run]
