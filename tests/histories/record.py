"""Record a real Temporal history of every registered workflow type in four scenarios, for the
determinism guard (tests/temporal/test_replay.py replays them against today's workflow code).
`make record-histories`, or from the repository root:

    .venv/bin/python tests/histories/record.py [TYPE ...]

Everything is its own and thrown away afterwards: Django on a scratch SQLite database in a
temporary folder (migrated, `seed_demo`), an in-memory Temporal dev server on a free port, and
workers in this process. Runs are started and cancelled through the console's services, as a
manager would (acme-manager, organization acme). Each scenario gets a worker of its own with
the real workflows (`WORKFLOWS`) and the real activities, except that one step's activity is
replaced by a wrapper registered under the same activity name:

  success     nothing replaced; the run COMPLETES;
  retry       the last step's first attempt fails with a retryable error, the retry runs the
              real activity; the run COMPLETES;
  cancel      the last step heartbeats until it is cancelled; the recorder cancels the run
              (`workflow_run_cancel`) once that step runs; the run ends CANCELED;
  validation  the first step refuses its input (a non-retryable ValidationFailed, as the real
              activities do for bad data); the run ends FAILED.

Replay checks only the workflow code, so replacing activities changes nothing it looks at.

Writes tests/histories/<type>/<scenario>.json (`WorkflowHistory.to_json()`); the workflow id
isn't part of it. A scenario that doesn't end as expected within 60 s writes nothing and makes
the script exit non-zero, naming it. Logs (the recorder's, the dev server's) go to
var/record-histories/.

Each run's input comes from its unit's samples (`tests.support.sample_params`), so a new
workflow type needs nothing here. Record only the new type (`make record-histories
TYPES=client-offboarding`, or `record.py client-offboarding`) to leave the other fixtures as
they are.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import io
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory, CancelledError
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.worker import Worker

# The project's modules are imported where they are used: Django is set up in main().
REPO = Path(__file__).resolve().parents[2]
HISTORIES = Path(__file__).resolve().parent
LOGS = REPO / "var" / "record-histories"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # run as a script: the project's packages

SCENARIOS = ("success", "retry", "cancel", "validation")
EXPECTED = {
    "success": "COMPLETED",
    "retry": "COMPLETED",
    "cancel": "CANCELED",
    "validation": "FAILED",
}
TIMEOUT_SECONDS = 60
ORGANIZATION = "acme"
USER = "acme-manager"


@dataclass(frozen=True)
class Demo:
    """What `seed_demo` made, for building a run's input; `scenario` is there for inputs
    that must differ from run to run (a new client's e-mail)."""

    organization: Any  # accounts.models.Organization
    user: Any
    client: Any  # acme's demo client, with GA4 and HubSpot integrations and synced records
    scenario: str


class RecordingFailed(Exception):
    pass


def log(message: str) -> None:
    print(message, flush=True)


# --- the replaced steps ------------------------------------------------------------------------
def fail_first_attempt(real: Callable, *args: Any) -> Any:

    if activity.info().attempt == 1:
        raise ApplicationError("injected failure for the recorded history")
    return real(*args)


def hold_until_cancelled(started: threading.Event) -> Callable:
    def hold(real: Callable, *args: Any) -> Any:

        started.set()
        while True:
            activity.heartbeat()
            if activity.is_cancelled():
                raise CancelledError("Cancelled while held for the recorded history.")
            if activity.is_worker_shutdown():  # the recorder is stopping (Ctrl-C)
                raise ApplicationError("The recorder is stopping.", non_retryable=True)
            time.sleep(0.5)

    return hold


def refuse_input(real: Callable, *args: Any) -> Any:

    from orchestration.contract.protocol import VALIDATION_ERROR_TYPE

    raise ApplicationError(
        "injected validation failure for the recorded history",
        type=VALIDATION_ERROR_TYPE,
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,
    )


def replaced(real: Callable, behaviour: Callable) -> Callable:
    """An activity under `real`'s activity name and signature that runs `behaviour(real, *args)`."""

    from orchestration.workflows.units import activity_name

    # Not `updated=("__dict__",)`: that would copy `real`'s own activity definition.
    @functools.wraps(real, updated=())
    def step(*args: Any) -> Any:
        return behaviour(real, *args)

    return activity.defn(name=activity_name(real))(step)


@dataclass
class Scenario:
    workflow_type: str
    name: str
    step: str | None = None  # the activity replaced, if any
    behaviour: Callable | None = None
    held: threading.Event | None = None  # set once the held step runs (cancel)

    @property
    def label(self) -> str:
        return f"{self.workflow_type}/{self.name}"

    @property
    def task_queue(self) -> str:
        return f"record-histories-{self.workflow_type}-{self.name}"


def scenario(workflow_type: str, name: str) -> Scenario:
    from orchestration.workflows.registry import UNITS

    steps = [step.name for step in UNITS[workflow_type].definition.steps]
    if name == "success":
        return Scenario(workflow_type, name)
    if name == "retry":
        return Scenario(workflow_type, name, steps[-1], fail_first_attempt)
    if name == "cancel":
        held = threading.Event()
        return Scenario(workflow_type, name, steps[-1], hold_until_cancelled(held), held)
    if name == "validation":
        return Scenario(workflow_type, name, steps[0], refuse_input)
    raise ValueError(name)


# --- workers on an event loop of their own ---------------------------------------------------
class WorkerLoop:
    """A thread running an event loop with one client, where each scenario's workers run
    while the main thread drives the console's (sync) services."""

    def __init__(self, address: str, namespace: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="workers", daemon=True)
        self.thread.start()
        self.workers: list[tuple[Any, ThreadPoolExecutor, asyncio.Task]] = []
        # The SDK core's own warnings (an activity finishing after its run was terminated)
        # go to the log file with the rest, not between the progress lines.
        runtime = Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                    forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
                )
            )
        )
        # Otherwise the console's own client settings (bridge.py, run_temporal_worker),
        # its payload encryption included: the recorded payloads are what Temporal stores.
        from orchestration.temporal.converter import data_converter

        connect = Client.connect(
            address, namespace=namespace, runtime=runtime, data_converter=data_converter()
        )
        self.client = self.call(connect, 30)

    def call(self, coroutine: Coroutine, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self, scenario: Scenario) -> None:
        self.call(self._start(scenario), 30)

    def stop(self) -> None:
        self.call(self._stop(), 30)

    async def _start(self, scenario: Scenario) -> None:
        from orchestration.contract.protocol import training_task_queue
        from orchestration.worker.build import ACTIVITIES, TRAINING_ACTIVITIES, WORKFLOWS
        from orchestration.workflows.units import activity_name

        def with_replacement(activities: list[Callable]) -> list[Callable]:
            return [
                replaced(fn, scenario.behaviour) if activity_name(fn) == scenario.step else fn
                for fn in activities
            ]

        # As build_worker/build_training_worker lay them out: every workflow and activity on
        # the task queue, the training steps also on the training task queue.
        for task_queue, workflows, activities in (
            (scenario.task_queue, WORKFLOWS, ACTIVITIES),
            (training_task_queue(scenario.task_queue), [], TRAINING_ACTIVITIES),
        ):
            executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix=task_queue)
            worker = Worker(
                self.client,
                task_queue=task_queue,
                workflows=workflows,
                activities=with_replacement(activities),
                activity_executor=executor,
                max_concurrent_activities=4,
                graceful_shutdown_timeout=timedelta(seconds=2),
                max_heartbeat_throttle_interval=timedelta(seconds=2),
                default_heartbeat_throttle_interval=timedelta(seconds=2),
            )
            self.workers.append((worker, executor, asyncio.create_task(worker.run())))

    async def _stop(self) -> None:
        workers, self.workers = self.workers, []
        for worker, _, _ in workers:
            await worker.shutdown()
        for _, executor, task in workers:
            await asyncio.gather(task, return_exceptions=True)
            executor.shutdown(wait=False, cancel_futures=True)

    async def outcome(self, workflow_id: str, deadline: float) -> str:
        """Temporal's status of the execution once it has closed, or RUNNING at `deadline`."""
        handle = self.client.get_workflow_handle(workflow_id)
        while True:
            status = (await handle.describe()).status
            if status != WorkflowExecutionStatus.RUNNING or time.monotonic() > deadline:
                return status.name if status else "UNKNOWN"
            await asyncio.sleep(0.1)

    async def history_json(self, workflow_id: str) -> str:
        history = await self.client.get_workflow_handle(workflow_id).fetch_history()
        return history.to_json()

    async def terminate(self, workflow_id: str) -> None:
        await self.client.get_workflow_handle(workflow_id).terminate("record-histories: timed out")

    def close(self) -> None:
        try:
            if self.workers:
                self.stop()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


# --- recording -------------------------------------------------------------------------------
def record(workers: WorkerLoop, scenario: Scenario, demo: Demo) -> float:
    """Run one scenario and write its history; the seconds it took. RecordingFailed when the
    run doesn't end as expected in time."""
    from orchestration.models import WorkflowRun
    from orchestration.services.runs import workflow_run_cancel, workflow_run_start

    expected = EXPECTED[scenario.name]
    from tests.support import sample_params

    params = sample_params(scenario.workflow_type, demo.organization, demo.client, demo.scenario)
    workers.start(scenario)
    try:
        began = time.monotonic()
        deadline = began + TIMEOUT_SECONDS
        run, _ = workflow_run_start(
            user=demo.user,
            organization=demo.organization,
            workflow_type=scenario.workflow_type,
            params=params,
        )
        if scenario.held is not None:
            if not scenario.held.wait(max(0, deadline - time.monotonic())):
                raise _failed(workers, scenario, run, f"its step {scenario.step} never started")
            workflow_run_cancel(user=demo.user, run=run)
        said = workers.call(workers.outcome(run.workflow_id, deadline), TIMEOUT_SECONDS + 10)
        if said == "RUNNING":
            raise _failed(workers, scenario, run, f"it is still running after {TIMEOUT_SECONDS} s")
        elapsed = time.monotonic() - began
        # The workflow reports its outcome (a local activity) before it closes.
        run = WorkflowRun.objects.get(pk=run.pk)
        if said != expected or run.status != expected:
            raise RecordingFailed(
                f"{scenario.label} ended {said} in Temporal and {run.status} in the console, "
                f"not {expected}" + (f" (error: {run.error})" if run.error else "")
            )
        history = workers.call(workers.history_json(run.workflow_id), 30)
    finally:
        workers.stop()
    path = HISTORIES / scenario.workflow_type / f"{scenario.name}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(history + "\n")
    return elapsed


def _failed(workers: WorkerLoop, scenario: Scenario, run: Any, why: str) -> RecordingFailed:
    try:
        workers.call(workers.terminate(run.workflow_id), 10)
    except Exception as error:  # already closed, or Temporal gone: nothing more to clean
        logging.getLogger(__name__).warning("could not terminate %s: %s", run.workflow_id, error)
    return RecordingFailed(
        f"{scenario.label} did not end {EXPECTED[scenario.name]} within {TIMEOUT_SECONDS} s: "
        f"{why} ({run.workflow_id})"
    )


def setup_django(scratch: Path, temporal_address: str) -> None:
    """Django on a database of its own in `scratch`, whatever the shell's environment says."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "omnify.settings.test"
    os.environ["OMNIFY_VAR_DIR"] = str(scratch)
    os.environ.pop("DATABASE_URL", None)  # never a real database
    os.environ["TEMPORAL_ADDRESS"] = temporal_address
    os.environ["TEMPORAL_NAMESPACE"] = "default"
    import django

    django.setup()
    # Test settings configure no handlers: the SDK's warnings (an injected failure's
    # traceback) go to the log file, not the progress lines.
    logging.basicConfig(
        filename=LOGS / "recorder.log",
        filemode="w",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        force=True,
    )
    logging.captureWarnings(True)  # the SDK's, e.g. an activity that outlived its run


def selected_types(requested: list[str]) -> list[str]:
    from orchestration.workflows.registry import UNITS

    unknown = [name for name in requested if name not in UNITS]
    if unknown:
        raise RecordingFailed(
            f"Not registered workflow types: {', '.join(unknown)} (registered: {', '.join(UNITS)})."
        )
    return requested or list(UNITS)


def demo_data(scenario: str) -> Demo:
    from django.contrib.auth import get_user_model

    from accounts.models import Organization
    from orchestration.models import Client as DemoClient

    organization = Organization.objects.get(slug=ORGANIZATION)
    return Demo(
        organization=organization,
        user=get_user_model().objects.get(username=USER),
        client=DemoClient.objects.get(
            organization=organization, email=f"demo@{ORGANIZATION}.example"
        ),
        scenario=scenario,
    )


def main(requested: list[str]) -> int:
    from orchestration.temporal.devserver import DevServer

    LOGS.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="record-histories-"))
    began = time.monotonic()
    try:
        with open(LOGS / "temporal.log", "wb") as server_log:
            server = DevServer(log=server_log)
            try:
                setup_django(scratch, server.address)
                failures = record_all(server, selected_types(requested))
            finally:
                server.stop()
    except RecordingFailed as failure:  # before any scenario ran
        log(str(failure))
        return 2
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if failures:
        log(f"\n{len(failures)} scenario(s) not recorded (logs: {LOGS.relative_to(REPO)}/):")
        for failure in failures:
            log(f"  {failure}")
        return 1
    log(
        f"\nRecorded every scenario in {time.monotonic() - began:.1f} s into "
        f"{HISTORIES.relative_to(REPO)}/. Commit them; tests/temporal/test_replay.py replays them."
    )
    return 0


def record_all(server: Any, types: list[str]) -> list[str]:
    """Record every scenario of `types`; what went wrong, one line per failed scenario."""
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    server.start()
    workers = WorkerLoop(server.address, settings.TEMPORAL_NAMESPACE)
    failures = []
    try:
        log(f"Recording {len(types) * len(SCENARIOS)} histories (Temporal at {server.address})")
        for workflow_type in types:
            for name in SCENARIOS:
                current = scenario(workflow_type, name)
                # Runs go to the scenario's task queue, served by its workers only.
                settings.TEMPORAL_TASK_QUEUE = current.task_queue
                print(f"{current.label} ... ", end="", flush=True)
                try:
                    seconds = record(workers, current, demo_data(name))
                except RecordingFailed as failure:
                    log("NOT RECORDED (see below)")
                    failures.append(str(failure))
                else:
                    log(f"{EXPECTED[name]} ({seconds:.1f} s)")
    finally:
        workers.close()
    return failures


def _terminated(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("types", nargs="*", help="workflow types to record (default: all)")
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminated)
    try:
        status = main(arguments.types)
    except KeyboardInterrupt:
        print("\nInterrupted; the dev server and workers are stopped.", file=sys.stderr)
        status = 130
    # temporalio can abort the interpreter at exit (sdk-python issue 300): leave with our own
    # status once the output is flushed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
