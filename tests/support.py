"""Helpers for tests (fixtures live in conftest.py)."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def wait_for_status(workflow_id: str, statuses: set[str], timeout: float = 30):
    """Poll the database until the run reaches one of `statuses`; return the run."""
    from orchestration.models import WorkflowRun

    deadline = time.monotonic() + timeout
    while True:
        run = WorkflowRun.objects.get(workflow_id=workflow_id)
        if run.status in statuses:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"{workflow_id} is {run.status}, expected one of {statuses}")
        time.sleep(0.1)


def api_token(user) -> str:
    """A fresh API token (the secret) for `user`, issued without an audit event, so that tests
    counting events see only what they do."""
    from accounts.models import ApiToken

    _, secret = ApiToken.objects.create(user=user)
    return secret


def suite_database_url() -> str:
    """The URL of the database the tests run on, for processes the tests start."""
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(name).resolve()}"
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


_SQLITE_LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
"""
# On PostgreSQL the runs' table, locked against writes (reads go on), stands in for
# SQLite's one write lock: every start, report and step of a run has to write to it.
_POSTGRES_LOCKER = """
import psycopg, sys
db = psycopg.connect(sys.argv[1])
db.execute("LOCK TABLE orchestration_workflowrun IN EXCLUSIVE MODE")
print("locked", flush=True)
sys.stdin.readline()
"""


class WriteLock:
    """Another process holding the database's write lock (SQLite) or the runs' table's
    (PostgreSQL) until `release()`."""

    def __init__(self) -> None:
        from django.db import connection

        if connection.vendor == "sqlite":
            locker, target = _SQLITE_LOCKER, connection.settings_dict["NAME"]
        else:
            locker, target = _POSTGRES_LOCKER, suite_database_url()
        self.process = subprocess.Popen(
            [sys.executable, "-c", locker, target],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write("\n")
            self.process.stdin.flush()
            self.process.wait(10)


def start_worker(
    address: str, task_queue: str, reconcile_interval: float = 0, env: dict | None = None
) -> subprocess.Popen:
    """`manage.py run_temporal_worker` in its own process; with a `reconcile_interval`, it
    keeps the task queue's reconcile schedule as a deployed worker does (the caller deletes
    it: `reconcile_schedule_delete`). `env` adds to its environment."""
    env = {
        **os.environ,
        **(env or {}),
        "DJANGO_SETTINGS_MODULE": "omnify.settings.test",
        "DATABASE_URL": suite_database_url(),
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_TASK_QUEUE": task_queue,
    }
    # Its output is kept (appended per task queue) for when a fault test fails in CI.
    artifacts = ROOT / "var" / "test-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    with open(artifacts / f"worker-{task_queue}.log", "ab") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "run_temporal_worker",
                "--reconcile-interval",
                str(reconcile_interval),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    time.sleep(3)  # polling
    assert worker.poll() is None, "the worker did not start"
    return worker


def reconcile_schedule_delete(task_queue: str) -> None:
    from orchestration.temporal.bridge import get_bridge
    from orchestration.worker.reconcile_schedule import reconcile_schedule_id

    async def delete(client) -> None:
        await client.get_schedule_handle(reconcile_schedule_id(task_queue)).delete()

    get_bridge().call(delete)


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait(10)


def temporal_says(workflow_id: str, status: str, timeout: float = 10) -> None:
    """Wait until Temporal says `status` too (a workflow reports its outcome to the console
    just before its last task completes)."""
    from orchestration.temporal.bridge import get_bridge

    deadline = time.monotonic() + timeout
    while (said := get_bridge().describe(workflow_id).status) != status:
        assert time.monotonic() < deadline, f"{workflow_id} is {said} in Temporal, not {status}"
        time.sleep(0.1)


class WebServer:
    """uvicorn on omnify.asgi in its own process, started as `make run` starts it, on the
    test database and the given Temporal server and task queue."""

    def __init__(
        self, *, temporal_address: str, task_queue: str, log: Path, env: dict | None = None
    ) -> None:
        from orchestration.management.commands.run_console import web_command
        from orchestration.temporal.devserver import free_port

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            **(env or {}),
            "DJANGO_SETTINGS_MODULE": "omnify.settings.test",
            "DATABASE_URL": suite_database_url(),
            "TEMPORAL_ADDRESS": temporal_address,
            "TEMPORAL_TASK_QUEUE": task_queue,
            "PYTHONUNBUFFERED": "1",
        }
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as output:
            self.process = subprocess.Popen(
                web_command("uvicorn", "127.0.0.1", port),
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=output,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    raise RuntimeError(f"The web server did not start; see {log}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def retrained_model(organization, kind: str, **params):
    """A model version of `kind` trained for real on the organization's synced records by the
    retrain's own service, as a completed eyes-retrain run would store it: the active one."""
    import uuid

    from orchestration.models import WorkflowRun
    from orchestration.platform.services import eyes_model_retrain

    params = {"epochs": 20, **({"clusters": 4} if kind == "clustering" else {}), **params}
    run = WorkflowRun.objects.create(
        organization=organization,
        workflow_type="eyes-retrain",
        workflow_id=f"eyes-retrain-{uuid.uuid4()}",
        status=WorkflowRun.Status.COMPLETED,
        input={"model": kind, "params": params},
    )
    return eyes_model_retrain(
        run_pk=run.pk,
        organization_id=organization.pk,
        model=kind,
        params=params,
        heartbeat=lambda *progress: None,
    )


def sample_params(workflow_type: str, organization, client, tag: str) -> dict:
    """Params for a run of `workflow_type` in `organization` on `client`, from its unit's
    samples, with what such a run needs made first: the active EYES models it names (trained
    for real when missing) and, for a run that consumes its client, a client of its own."""
    from orchestration.models import Client, Integration, ModelVersion
    from orchestration.workflows.registry import UNITS

    samples = UNITS[workflow_type].samples
    for kind in samples.needs_models:
        if not ModelVersion.objects.filter(
            organization=organization, kind=kind, active=True
        ).exists():
            retrained_model(organization, kind)
    if samples.own_client:
        client = Client.objects.create(
            organization=organization,
            name=f"Leaving ({tag})",
            email=f"leaving+{tag}@example.com",
            status=Client.Status.ACTIVE,
        )
        Integration.objects.create(client=client, platform="ga4")
    return samples.params(client.pk, tag)


def stream_events(client, url: str, **follow):
    """`follow_stream` for a sync test: (status, [(event, data), ...])."""
    import asyncio

    return asyncio.run(follow_stream(client, url, **follow))


async def follow_stream(client, url: str, *, stop=None, between=None, timeout: float = 20):
    """Follow a server-sent-events answer of the console in this process, with the session of
    the test `client`, as the browser's EventSource does: (status, [(event, data), ...]) until
    the stream ends, `stop(events)` is true, or `timeout` (a TimeoutError). `between(events)`
    runs after each event, in a worker thread (the database is reachable there: these tests
    need `transactional_db`, the stream's reads run outside the test's transaction)."""
    import asyncio

    from asgiref.sync import sync_to_async
    from django.test import AsyncClient

    browser = AsyncClient()
    browser.cookies = client.cookies
    response = await browser.get(url, headers={"accept": "text/event-stream"})
    if not response.streaming:
        return response.status_code, []
    events, buffer, content = [], "", response.streaming_content
    try:
        async with asyncio.timeout(timeout):
            async for chunk in content:
                buffer += chunk.decode()
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    lines = block.split("\n")
                    names = [line[7:] for line in lines if line.startswith("event: ")]
                    if not names:
                        continue
                    data = "\n".join(line[6:] for line in lines if line.startswith("data: "))
                    events.append((names[0], data))
                    if stop is not None and stop(events):
                        return response.status_code, events
                    if between is not None:
                        await sync_to_async(between)(events)
    finally:
        await content.aclose()
    return response.status_code, events
