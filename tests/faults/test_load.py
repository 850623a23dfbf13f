"""500 starts at concurrency 32 against the web server as `make run` starts it (uvicorn in its
own process), with the worker running: no 5xx, and afterwards runs == start audit events ==
Temporal executions, every run terminal."""

import asyncio
import collections
import time

import httpx
import pytest

from orchestration.models import AuditEvent, WorkflowRun
from tests.support import api_token, temporal_says, wait_for_status

pytestmark = [pytest.mark.temporal, pytest.mark.load]

STARTS, CONCURRENCY = 500, 32


async def start_many(
    base_url: str, token: str, body: dict
) -> tuple[collections.Counter, list[float]]:
    statuses: collections.Counter = collections.Counter()
    seconds: list[float] = []
    limit = asyncio.Semaphore(CONCURRENCY)
    headers = {"Authorization": f"Token {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:

        async def one() -> None:
            async with limit:
                began = time.monotonic()
                response = await client.post("/api/temporal/workflows/platform-sync", json=body)
                seconds.append(time.monotonic() - began)
                code = response.json().get("code", "") if response.status_code >= 500 else ""
                statuses[f"{response.status_code} {code}".strip()] += 1

        await asyncio.gather(*(one() for _ in range(STARTS)))
    return statuses, seconds


def test_500_concurrent_starts_all_succeed_and_agree_with_temporal(web_server, users, demo_client):
    token = api_token(users["acme-operator"])
    body = {"organization": "acme", "client": demo_client.pk, "platform": "ga4"}
    statuses, seconds = asyncio.run(start_many(web_server, token, body))
    seconds.sort()
    print(f"starts: median {seconds[len(seconds) // 2]:.3f} s, slowest {seconds[-1]:.3f} s")

    assert statuses == {"202": STARTS}, statuses
    runs = list(WorkflowRun.objects.values_list("workflow_id", flat=True))
    assert len(runs) == STARTS
    assert AuditEvent.objects.filter(action="workflow.start").count() == STARTS
    for workflow_id in runs:
        wait_for_status(workflow_id, {"COMPLETED"}, timeout=300)
        temporal_says(workflow_id, "COMPLETED")
