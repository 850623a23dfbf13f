"""Temporal SIGKILLed during a stream of starts, then restarted: every request got 202 or 503
`temporal_unavailable` in bounded time (none hung, none 500), and afterwards every run is
START_FAILED or known to Temporal, with reconcile leaving no disagreement.

The console here is a web server of its own (uvicorn, as `make run` starts it) on a Temporal
dev server of its own, file-backed so that it comes back with what it had; no worker runs, so
started runs stay open in Temporal.
"""

import asyncio
import collections
import signal
import time

import httpx
import pytest
from django.conf import settings

from orchestration.models import WorkflowRun
from orchestration.services.runs import TEMPORAL_STATUS, workflow_runs_reconcile
from orchestration.temporal.bridge import WorkflowNotFound, get_bridge, reset_bridge
from orchestration.temporal.devserver import DevServer
from tests.conftest import ARTIFACTS
from tests.support import WebServer, api_token

pytestmark = [pytest.mark.temporal, pytest.mark.faults]

STARTS, CONCURRENCY = 60, 4
# A request waits at most TEMPORAL_RPC_TIMEOUT for Temporal, plus its database work.
LONGEST_REQUEST = settings.TEMPORAL_RPC_TIMEOUT + 5


async def stream_of_starts(url: str, token: str, body: dict, temporal: DevServer):
    """STARTS starts, CONCURRENCY at a time; Temporal is killed a second in and started
    again (same port, same data) a few seconds later. Returns (status, seconds) pairs."""
    outcomes: list[tuple[str, float]] = []
    limit = asyncio.Semaphore(CONCURRENCY)
    headers = {"Authorization": f"Token {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:

        async def one(delay: float) -> None:
            await asyncio.sleep(delay)
            async with limit:
                began = time.monotonic()
                response = await client.post("/api/temporal/workflows/platform-sync", json=body)
                code = response.json().get("code", "") if response.status_code >= 500 else ""
                outcome = f"{response.status_code} {code}".strip()
                outcomes.append((outcome, time.monotonic() - began))

        async def crash_and_restart() -> None:
            await asyncio.sleep(1)
            temporal.process.send_signal(signal.SIGKILL)
            temporal.process.wait()
            await asyncio.sleep(4)
            await asyncio.to_thread(temporal.start)

        await asyncio.gather(crash_and_restart(), *(one(n * 0.2) for n in range(STARTS)))
    return outcomes


def test_starts_during_a_temporal_crash_are_202_or_503_and_reconcile_agrees(
    live, users, demo_client, tmp_path
):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "temporal-crash.log", "ab")  # noqa: SIM115 (the restart writes too)
    temporal = DevServer(db_filename=tmp_path / "temporal.db", log=log).start()
    previous = settings.TEMPORAL_ADDRESS
    settings.TEMPORAL_ADDRESS = temporal.address
    reset_bridge()
    server = None
    try:
        server = WebServer(
            temporal_address=temporal.address,
            task_queue="omnify-no-worker",
            log=ARTIFACTS / "temporal-crash-web.log",
        )
        url = server.url
        token = api_token(users["acme-operator"])
        body = {"organization": "acme", "client": demo_client.pk, "platform": "ga4"}
        outcomes = asyncio.run(stream_of_starts(url, token, body, temporal))

        statuses = collections.Counter(outcome for outcome, _ in outcomes)
        assert set(statuses) <= {"202", "503 temporal_unavailable"}, statuses
        assert statuses["202"] and statuses["503 temporal_unavailable"], statuses
        assert max(seconds for _, seconds in outcomes) < LONGEST_REQUEST

        # Afterwards: every run START_FAILED or known to Temporal, and reconcile agrees.
        workflow_runs_reconcile(pending_grace_seconds=0)
        runs = list(WorkflowRun.objects.all())
        assert len(runs) == STARTS
        for run in runs:
            try:
                execution = get_bridge().describe(run.workflow_id)
            except WorkflowNotFound:
                assert run.status == "START_FAILED", (run.workflow_id, run.status)
            else:
                assert run.status == TEMPORAL_STATUS[execution.status], run.workflow_id
    finally:
        if server is not None:
            server.stop()
        temporal.stop()
        log.close()
        settings.TEMPORAL_ADDRESS = previous
        reset_bridge()
