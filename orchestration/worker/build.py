"""Builds the console's Temporal worker: every registered unit's workflow and activities (and
the console's own) on one task queue, and the training task queue's worker."""

import compileall
import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from django.db import connections
from temporalio.client import Client
from temporalio.worker import Worker

from orchestration.contract.protocol import training_task_queue
from orchestration.worker.console_activities import CONSOLE_ACTIVITIES
from orchestration.worker.reconcile_workflow import ReconcileRunsWorkflow
from orchestration.workflows.registry import UNITS
from orchestration.workflows.units import activity_name

# The package the sandboxed workflow modules live in (the units' workflow.py,
# console_workflow.py, reconcile_workflow.py, the contract, and the packages on the way).
CONSOLE_PACKAGE = Path(__file__).resolve().parents[1]

WORKFLOWS = [*(unit.workflow for unit in UNITS.values()), ReconcileRunsWorkflow]
ACTIVITIES = [*(fn for unit in UNITS.values() for fn in unit.activities), *CONSOLE_ACTIVITIES]
_TRAINING_STEPS = {
    step.name for unit in UNITS.values() for step in unit.definition.steps if step.training
}
TRAINING_ACTIVITIES = [fn for fn in ACTIVITIES if activity_name(fn) in _TRAINING_STEPS]


def build_worker(
    client: Client,
    *,
    task_queue: str,
    max_concurrent_activities: int = 10,
    shutdown_grace_seconds: float = 30,
) -> tuple[Worker, ThreadPoolExecutor]:
    """The worker and the thread pool its sync activities run on (the caller shuts it down).
    It also serves the training activities, for runs started before they had a task queue
    of their own."""
    return _worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=ACTIVITIES,
        slots=max_concurrent_activities,
        shutdown_grace_seconds=shutdown_grace_seconds,
    )


def build_training_worker(
    client: Client, *, task_queue: str, slots: int = 2, shutdown_grace_seconds: float = 30
) -> tuple[Worker, ThreadPoolExecutor]:
    """The worker of the training task queue: `slots` CPU-bound activities at a time on
    threads of their own, so training never takes the main worker's slots."""
    return _worker(
        client,
        task_queue=training_task_queue(task_queue),
        workflows=[],
        activities=TRAINING_ACTIVITIES,
        slots=slots,
        shutdown_grace_seconds=shutdown_grace_seconds,
    )


def _worker(
    client: Client,
    *,
    task_queue: str,
    workflows: list,
    activities: list,
    slots: int,
    shutdown_grace_seconds: float,
) -> tuple[Worker, ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=slots, thread_name_prefix=f"activity-{task_queue}")
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=workflows,
        activities=activities,
        activity_executor=executor,
        max_concurrent_activities=slots,
        max_concurrent_local_activities=slots,
        graceful_shutdown_timeout=timedelta(seconds=shutdown_grace_seconds),
        # Heartbeats are how a cancellation reaches a running activity; sending them at most
        # every 2 s (instead of 80% of the heartbeat timeout) makes cancels take effect fast.
        max_heartbeat_throttle_interval=timedelta(seconds=2),
        default_heartbeat_throttle_interval=timedelta(seconds=2),
    )
    return worker, executor


def shutdown_activity_executor(executor: ThreadPoolExecutor, workers: int) -> None:
    """Close every pool thread's database connections, then stop the pool.

    Persistent connections (CONN_MAX_AGE) would otherwise stay open until the process
    exits. A barrier makes each of the pool's `workers` threads take exactly one close task.
    """
    barrier = threading.Barrier(workers)

    def close_connections() -> None:
        connections.close_all()
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=10)

    for future in [executor.submit(close_connections) for _ in range(workers)]:
        future.result()
    executor.shutdown(wait=True)


def workflow_bytecode_ensure() -> None:
    """Write the bytecode of the console's modules where it is missing or stale.

    The workflow sandbox imports each workflow's modules afresh for every workflow it runs;
    without bytecode on disk (PYTHONDONTWRITEBYTECODE, which this machine's shell and many
    containers set) each of those imports compiles the source again: 15% of the worker's CPU
    with hundreds of onboardings at once (py-spy, `make bench-throughput`'s P5, whose ratio
    was 0.53 and 0.64 without, 0.71 and 0.86 with, two runs each). The image compiles at
    build (Dockerfile) and is read-only, where this finds nothing to write."""
    compileall.compile_dir(CONSOLE_PACKAGE, quiet=2)
