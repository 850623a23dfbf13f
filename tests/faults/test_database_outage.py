"""The database unavailable while runs run: another process holds SQLite's write lock for 30 s
and for 60 s while a worker (its own process) takes the runs up. Meanwhile starts answer 503
`database_unavailable` and `/readyz` 503; once the lock is gone, no worker is left holding
one, and every run completes with nothing lost or doubled: status reports retry (and the
worker reconciles, as deployed workers do, for a report dropped after its retries), and a step
that couldn't have the database is scheduled again by its workflow instead of failing."""

import time
import uuid

import pytest
from django.db import connection

from orchestration.models import Campaign, Client, ModelVersion, WorkflowRun
from tests.support import (
    WriteLock,
    kill,
    reconcile_schedule_delete,
    start_worker,
    wait_for_status,
)

pytestmark = [
    pytest.mark.temporal,
    pytest.mark.faults,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="holds SQLite's write lock"),
]


def start(api, workflow_type: str, body: dict) -> str:
    response = api("acme-manager").post(
        f"/api/temporal/workflows/{workflow_type}", {"organization": "acme", **body}, format="json"
    )
    assert response.status_code == 202, response.content
    return response.json()["workflow_id"]


@pytest.mark.parametrize("outage_seconds", [30, 60])
def test_runs_outlive_a_database_outage(
    live, api, client, demo_client, churn_model, settings, outage_seconds
):
    # The runs wait on a queue of their own until a worker comes, during the outage, so the
    # worker meets the locked database for sure.
    settings.TEMPORAL_TASK_QUEUE = f"omnify-outage-{uuid.uuid4().hex[:8]}"
    onboarding = {
        "client": {"name": "Initech", "email": "outage@initech.example", "platforms": ["ga4"]}
    }
    started = [
        start(api, "client-onboarding", onboarding),
        start(api, "platform-sync", {"client": demo_client.pk, "platform": "hubspot"}),
        start(api, "retention-campaign", {"name": "Win", "channel": "sms", "min_churn_risk": 0.2}),
        start(api, "eyes-retrain", {"model": "clustering"}),
    ]
    lock = WriteLock()
    began = time.monotonic()
    # Reconciling as a deployed worker does: a final report the outage made the workflow
    # drop (reports are best effort; reconcile_runs is what repairs them) is repaired.
    worker = start_worker(live.address, settings.TEMPORAL_TASK_QUEUE, reconcile_interval=10)
    try:
        refused = api("acme-manager").post(
            "/api/temporal/workflows/platform-sync",
            {"organization": "acme", "client": demo_client.pk, "platform": "ga4"},
            format="json",
        )
        assert refused.status_code == 503
        assert refused.json()["code"] == "database_unavailable"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "database" in ready.json()["failed"]
        time.sleep(max(0.0, outage_seconds - (time.monotonic() - began)))
        lock.release()

        done = {"COMPLETED", "FAILED"}
        runs = [wait_for_status(workflow_id, done, timeout=300) for workflow_id in started]
    finally:
        lock.release()
        kill(worker)
        reconcile_schedule_delete(settings.TEMPORAL_TASK_QUEUE)
    assert [run.status for run in runs] == ["COMPLETED"] * 4, [run.error for run in runs]
    # Nothing lost, nothing doubled; and nobody holds the lock now: it is had at once.
    assert Client.objects.filter(email="outage@initech.example").count() == 1
    assert Campaign.objects.filter(run__workflow_id=started[2]).count() == 1
    assert ModelVersion.objects.filter(run__workflow_id=started[3]).count() == 1
    # The refused start wrote nothing (besides the four, the run that trained churn_model).
    assert WorkflowRun.objects.exclude(pk=churn_model.run_id).count() == 4
    WriteLock().release()
    assert client.get("/readyz").json()["failed"] == []
