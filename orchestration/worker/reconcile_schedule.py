"""The deployment's reconcile schedule: one Temporal Schedule per task queue starts the
reconcile workflow every interval, however many workers (2 to 10 replicas under the
autoscaler) serve the queue; each worker makes sure it exists, with the interval it was
configured with, when it starts."""

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from orchestration.contract.protocol import RECONCILE_TIMEOUT_SECONDS, RECONCILE_WORKFLOW


def reconcile_schedule_id(task_queue: str) -> str:
    return f"omnify-reconcile-runs-{task_queue}"


async def reconcile_schedule_ensure(
    client: Client, *, task_queue: str, interval_seconds: float
) -> str:
    """Create the reconcile schedule, or bring an existing one to this interval; return its
    id. A pass still running when the next is due is not doubled (overlap: skip)."""
    schedule_id = reconcile_schedule_id(task_queue)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            RECONCILE_WORKFLOW,
            id=f"reconcile-runs-{task_queue}",
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=RECONCILE_TIMEOUT_SECONDS * 2),
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=interval_seconds))]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
            kept = current.description.schedule
            kept.action, kept.spec, kept.policy = schedule.action, schedule.spec, schedule.policy
            return ScheduleUpdate(schedule=kept)

        await client.get_schedule_handle(schedule_id).update(update)
    return schedule_id
