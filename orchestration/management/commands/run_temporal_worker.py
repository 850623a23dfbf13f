import asyncio
import logging
import os
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from orchestration.temporal.converter import data_converter
from orchestration.worker.build import (
    build_training_worker,
    build_worker,
    shutdown_activity_executor,
    workflow_bytecode_ensure,
)
from orchestration.worker.reconcile_schedule import reconcile_schedule_ensure

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
            default=settings.TEMPORAL_RECONCILE_INTERVAL,
            help=(
                "Seconds between the deployment's reconcile passes (runs that timed out or "
                "whose report was lost get their final status): the worker creates or updates "
                "the task queue's one reconcile schedule in Temporal; 0 leaves it alone. "
                "Default TEMPORAL_RECONCILE_INTERVAL (60)."
            ),
        )
        parser.add_argument(
            "--training-slots",
            type=int,
            default=2,
            help=(
                "CPU-bound training activities run at a time, on the training task queue "
                "(<task queue>-training) with threads of their own. Default 2."
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
        training_slots,
        shutdown_grace,
        metrics_port,
        reconcile_interval,
        **options,
    ):
        if max_concurrent_activities < 1:
            raise CommandError("--max-concurrent-activities must be at least 1.")
        if training_slots < 1:
            raise CommandError("--training-slots must be at least 1.")
        self.training_slots = training_slots
        if reconcile_interval < 0:
            raise CommandError("--reconcile-interval can't be negative.")
        self.metrics_port = metrics_port
        self.reconcile_interval = reconcile_interval
        workflow_bytecode_ensure()
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
                data_converter=data_converter(),
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
        training, training_executor = build_training_worker(
            client, task_queue=task_queue, slots=self.training_slots, shutdown_grace_seconds=grace
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        self.stdout.write(
            f"Worker polling task queue {task_queue!r} on {settings.TEMPORAL_ADDRESS} "
            f"(namespace {settings.TEMPORAL_NAMESPACE!r}, up to {max_activities} concurrent "
            f"activities and {self.training_slots} training, {grace:g}s shutdown grace, "
            "reconcile every "
            f"{self.reconcile_interval:g}s (one schedule per task queue), metrics "
            f"{f'on :{self.metrics_port}/metrics' if self.metrics_port else 'off'}). "
            "Ctrl-C to stop."
        )
        self.stdout.flush()
        async with worker, training:
            if self.reconcile_interval:
                schedule_id = await reconcile_schedule_ensure(
                    client, task_queue=task_queue, interval_seconds=self.reconcile_interval
                )
                logger.info(
                    "Reconcile schedule %s runs every %gs", schedule_id, self.reconcile_interval
                )
            await stop.wait()
            self.stdout.write("Stopping: no new tasks; waiting for in-flight activities...")
            self.stdout.flush()
        shutdown_activity_executor(executor, max_activities)
        shutdown_activity_executor(training_executor, self.training_slots)
        self.stdout.write("Worker stopped.")
