"""Suite-wide fixtures: a real Temporal dev server, an in-process worker, demo organizations."""

import asyncio
import contextlib
import os
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from orchestration.temporal.bridge import get_bridge, reset_bridge
from orchestration.temporal.devserver import DevServer
from tests.support import WebServer, api_token

ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"

# --- exit status ------------------------------------------------------------------------------
# temporalio can abort the interpreter at exit (sdk-python issue 300), which would replace the
# suite's verdict with a crash. Once pytest has printed its summary, leave with its status.
_exit_status: int | None = None


def pytest_sessionfinish(session, exitstatus):
    global _exit_status
    _exit_status = int(exitstatus)
    # Django removes the test database file; the worker threads' connections leave SQLite's
    # -wal/-shm companions behind.
    test_db = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if test_db and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        for companion in Path(test_db).parent.glob(f"{Path(test_db).name}-*"):
            companion.unlink(missing_ok=True)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if _exit_status is not None and "temporalio" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status)


# --- Temporal ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def temporal_server():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "temporal-dev-server.log", "ab") as log:
        server = DevServer(log=log).start()
        try:
            yield server
        finally:
            server.stop()


class WorkerThread:
    """The console's real worker (build_worker), run on its own loop in a background thread."""

    ACTIVITY_THREADS = 4
    TRAINING_THREADS = 2

    def __init__(self, address: str, task_queue: str) -> None:
        self.address, self.task_queue = address, task_queue
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="test-worker", daemon=True)

    def start(self) -> "WorkerThread":
        self._thread.start()
        if not self._ready.wait(30) or self._error:
            raise RuntimeError(f"Worker did not start: {self._error}")
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # surfaced by start()
            self._error = error
            self._ready.set()

    async def _main(self) -> None:
        from temporalio.client import Client

        from orchestration.temporal.converter import data_converter
        from orchestration.worker.build import (
            build_training_worker,
            build_worker,
            shutdown_activity_executor,
        )

        client = await Client.connect(self.address, data_converter=data_converter())
        worker, executor = build_worker(
            client,
            task_queue=self.task_queue,
            max_concurrent_activities=self.ACTIVITY_THREADS,
            shutdown_grace_seconds=5,
        )
        training, training_executor = build_training_worker(
            client,
            task_queue=self.task_queue,
            slots=self.TRAINING_THREADS,
            shutdown_grace_seconds=5,
        )
        self._in_flight, self._in_flight_lock = 0, threading.Lock()
        self._count_in_flight(executor)
        self._count_in_flight(training_executor)
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with worker, training:
            self._ready.set()
            await self._stop.wait()
        shutdown_activity_executor(executor, self.ACTIVITY_THREADS)
        shutdown_activity_executor(training_executor, self.TRAINING_THREADS)

    def _count_in_flight(self, executor) -> None:
        """Count the activities (and local activities) running on the pool: the sdk submits
        each one to it (`run_in_executor`)."""
        submit = executor.submit

        def done(_future) -> None:
            with self._in_flight_lock:
                self._in_flight -= 1

        def counting_submit(fn, /, *args, **kwargs):
            with self._in_flight_lock:
                self._in_flight += 1
            future = submit(fn, *args, **kwargs)
            future.add_done_callback(done)
            return future

        executor.submit = counting_submit

    def wait_until_idle(self, timeout: float = 30, quiet: float = 0.5) -> None:
        """Wait until no activity has run for `quiet` seconds: a test's last writes (an
        activity noticing its workflow was terminated, a final status report) must be over
        before the database is flushed, or PostgreSQL's TRUNCATE deadlocks with them."""
        deadline, idle_since = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if self._in_flight:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= quiet:
                return
            time.sleep(0.05)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture(scope="session")
def task_queue() -> str:
    return f"omnify-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def suite_worker(temporal_server, task_queue):
    worker = WorkerThread(temporal_server.address, task_queue).start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def temporal_env(temporal_server, task_queue, suite_worker):
    """Point the console at the suite's server and its worker's task queue of its own."""
    previous = settings.TEMPORAL_ADDRESS, settings.TEMPORAL_TASK_QUEUE
    settings.TEMPORAL_ADDRESS, settings.TEMPORAL_TASK_QUEUE = temporal_server.address, task_queue
    reset_bridge()
    try:
        yield temporal_server
    finally:
        settings.TEMPORAL_ADDRESS, settings.TEMPORAL_TASK_QUEUE = previous
        reset_bridge()


@pytest.fixture
def live(transactional_db, temporal_env, suite_worker):
    """A test that runs workflows for real: committed data the worker's threads can see.
    Runs it leaves open are terminated, so nothing leaks into the next test."""
    yield temporal_env
    from orchestration.models import WorkflowRun

    open_ids = WorkflowRun.objects.filter(status__in=["PENDING", "RUNNING"]).values_list(
        "workflow_id", flat=True
    )
    for workflow_id in open_ids:

        async def terminate(client, workflow_id=workflow_id):
            await client.get_workflow_handle(workflow_id).terminate("test teardown")

        # Already closed or never started: nothing to clean.
        with contextlib.suppress(Exception):
            get_bridge().call(terminate)
    get_bridge().call(_console_schedules_delete)
    suite_worker.wait_until_idle()


async def _console_schedules_delete(client) -> None:
    """The Temporal server outlives each test's database: the console's schedules a test made
    (through the API, the admin, or a fuzzer) go with the database, or their executions would
    keep starting for schedules that no longer exist."""
    from orchestration.temporal.console_schedules import SCHEDULE_ID_PREFIX

    async for entry in await client.list_schedules():
        if entry.id.startswith(SCHEDULE_ID_PREFIX):
            await client.get_schedule_handle(entry.id).delete()


# --- organizations, users and API clients -----------------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_caches(request):
    """One test's throttle counts (the database cache) and run page answers (the "local"
    cache) must not reach the next. The database cache is cleared in tests that have the
    database: a transactional test's flush leaves its table alone."""
    from django.core.cache import caches

    caches["local"].clear()
    if "_django_db_helper" in request.fixturenames or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("_django_db_helper")
        caches["default"].clear()


@pytest.fixture
def orgs(db):
    from accounts.models import Organization

    return {
        "acme": Organization.objects.create(name="Acme Corp", slug="acme"),
        "globex": Organization.objects.create(name="Globex", slug="globex"),
    }


@pytest.fixture
def users(orgs, django_user_model):
    """acme-<role> for every role, and globex-manager."""
    from accounts.roles import Role
    from orchestration.services.memberships import membership_set_role

    made = {}
    for role in Role:
        user = django_user_model.objects.create_user(f"acme-{role}", password="pw", is_staff=True)
        membership_set_role(organization=orgs["acme"], user=user, role=role)
        made[f"acme-{role}"] = user
    user = django_user_model.objects.create_user("globex-manager", password="pw", is_staff=True)
    membership_set_role(organization=orgs["globex"], user=user, role=Role.MANAGER)
    made["globex-manager"] = user
    made["outsider"] = django_user_model.objects.create_user("outsider", password="pw")
    return made


@pytest.fixture
def api(users):
    """api("acme-manager") -> an APIClient sending that user's API token (one per user and
    test)."""
    tokens: dict[str, str] = {}

    def client_for(username: str | None = None) -> APIClient:
        client = APIClient()
        if username:
            if username not in tokens:
                tokens[username] = api_token(users[username])
            client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[username]}")
        return client

    return client_for


@pytest.fixture
def demo_client(orgs):
    """acme's demo client with GA4 and HubSpot integrations and synced records."""
    from orchestration.models import Client, Integration
    from orchestration.platform.sync import platform_records_sync

    client = Client.objects.create(
        organization=orgs["acme"], name="Acme demo", email="demo@acme.example", status="active"
    )
    for platform in ("ga4", "hubspot"):
        Integration.objects.create(client=client, platform=platform)
        platform_records_sync(
            organization_id=orgs["acme"].pk,
            client_id=client.pk,
            platform=platform,
            heartbeat=lambda *progress: None,
        )
    return client


# --- the web server as `make run` starts it ----------------------------------------------------
@pytest.fixture
def web_server(live):
    """uvicorn on omnify.asgi in its own process, as `make run` starts it, serving the test
    database and talking to the suite's Temporal server and task queue.

    One per test: between tests the database is flushed and its content types made anew,
    which a long-lived server would keep stale in its caches (guardian then finds no
    permission at all)."""
    server = WebServer(
        temporal_address=settings.TEMPORAL_ADDRESS,
        task_queue=settings.TEMPORAL_TASK_QUEUE,
        log=ARTIFACTS / "web-server.log",
    )
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def churn_model(demo_client):
    """acme's active churn model, trained on the demo client's records (campaigns need one)."""
    from tests.support import retrained_model

    return retrained_model(demo_client.organization, "churn")
