import asyncio
import logging
import os
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from orchestration.services.runs import workflow_runs_reconcile
from orchestration.temporal.worker import build_worker, shutdown_activity_executor

logger = logging.getLogger("orchestration.worker")


class Command(BaseCommand):
    help = "Run the Temporal worker for the console's workflows and activities."

    def add_arguments(self, parser):
        parser.add_argument("--task-queue", default=settings.TEMPORAL_TASK_QUEUE)
        parser.add_argument("--max-concurrent-activities", type=int, default=10)
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=int(os.environ.get("TEMPORAL_WORKER_METRICS_PORT", 0)) or None,
            help="Serve the SDK's and the activities' metrics for Prometheus on this port.",
        )
        parser.add_argument(
            "--reconcile-interval",
            type=float,
            default=60,
            help=(
                "Seconds between reconcile passes (runs that timed out or whose report was "
                "lost get their final status); 0 turns it off. Default 60."
            ),
        )
        parser.add_argument(
            "--shutdown-grace",
            type=float,
            default=30,
            help="Seconds in-flight activities get to finish after SIGINT/SIGTERM.",
        )

    def handle(
        self,
        *args,
        task_queue,
        max_concurrent_activities,
        shutdown_grace,
        metrics_port,
        reconcile_interval,
        **options,
    ):
        if max_concurrent_activities < 1:
            raise CommandError("--max-concurrent-activities must be at least 1.")
        if reconcile_interval < 0:
            raise CommandError("--reconcile-interval can't be negative.")
        self.metrics_port = metrics_port
        self.reconcile_interval = reconcile_interval
        asyncio.run(self._run(task_queue, max_concurrent_activities, shutdown_grace))

    def _runtime(self) -> Runtime | None:
        if not self.metrics_port:
            return None
        return Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(bind_address=f"0.0.0.0:{self.metrics_port}")
            )
        )

    async def _run(self, task_queue: str, max_activities: int, grace: float) -> None:
        try:
            client = await Client.connect(
                settings.TEMPORAL_ADDRESS,
                namespace=settings.TEMPORAL_NAMESPACE,
                runtime=self._runtime(),
            )
        except RuntimeError as error:
            raise CommandError(
                f"Cannot connect to Temporal at {settings.TEMPORAL_ADDRESS}: {error}"
            ) from error
        worker, executor = build_worker(
            client,
            task_queue=task_queue,
            max_concurrent_activities=max_activities,
            shutdown_grace_seconds=grace,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        self.stdout.write(
            f"Worker polling task queue {task_queue!r} on {settings.TEMPORAL_ADDRESS} "
            f"(namespace {settings.TEMPORAL_NAMESPACE!r}, up to {max_activities} concurrent "
            f"activities, {grace:g}s shutdown grace, reconcile every "
            f"{self.reconcile_interval:g}s, metrics "
            f"{f'on :{self.metrics_port}/metrics' if self.metrics_port else 'off'}). "
            "Ctrl-C to stop."
        )
        self.stdout.flush()
        async with worker:
            reconciler = (
                asyncio.create_task(self._reconcile_periodically())
                if self.reconcile_interval
                else None
            )
            await stop.wait()
            if reconciler:
                reconciler.cancel()
            self.stdout.write("Stopping: no new tasks; waiting for in-flight activities...")
            self.stdout.flush()
        shutdown_activity_executor(executor, max_activities)
        self.stdout.write("Worker stopped.")

    async def _reconcile_periodically(self) -> None:
        """A workflow can't report its own timeout, and a report can be lost: look again
        at open runs now and then. Sync ORM work, so it runs in a thread."""
        while True:
            await asyncio.sleep(self.reconcile_interval)
            await asyncio.to_thread(self._reconcile_once)

    def _reconcile_once(self) -> None:
        try:
            for run, status in workflow_runs_reconcile():
                logger.info(
                    "reconciled run", extra={"workflow_id": run.workflow_id, "status": status}
                )
        except Exception:  # keep polling tasks whatever a pass ran into; try again later
            logger.exception("Reconcile pass failed")
        finally:
            close_old_connections()
