"""The console's maintenance workflow (not a run type): reconcile. Sandboxed, free of Django."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from orchestration.contract.protocol import (
        RECONCILE_RUNS,
        RECONCILE_TIMEOUT_SECONDS,
        RECONCILE_WORKFLOW,
    )


@workflow.defn(name=RECONCILE_WORKFLOW)
class ReconcileRunsWorkflow:
    """Started by the deployment's one reconcile schedule (schedules.py), not per worker:
    makes the rows of runs that couldn't report (a timeout, a terminate from outside, a lost
    report) agree with Temporal. Returns how many runs it changed. No queries or signals."""

    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity(
            RECONCILE_RUNS,
            result_type=int,
            start_to_close_timeout=timedelta(seconds=RECONCILE_TIMEOUT_SECONDS),
            heartbeat_timeout=timedelta(seconds=30),
            # The schedule runs it again soon; a failed pass is not worth retrying.
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
