"""PostgreSQL stopped while runs run, then started again: meanwhile starts answer 503
`database_unavailable` and `/readyz` 503; afterwards every run completes with nothing lost
(its steps were scheduled again once the database was back) and starts go through, without
restarting the worker or the web process (the pool hands out only live connections)."""

import os
import subprocess
import time

import pytest
from django.db import connection, connections

from orchestration.models import Client, ModelVersion
from tests.support import wait_for_status

pytestmark = [
    pytest.mark.temporal,
    pytest.mark.faults,
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not os.environ.get("OMNIFY_TEST_PGCTL"),
        reason="stops the PostgreSQL cluster .ci/with-postgres made",
    ),
]
OUTAGE_SECONDS = 15


def pgctl(action: str) -> None:
    subprocess.run([os.environ["OMNIFY_TEST_PGCTL"], action], check=True, capture_output=True)


def start(manager, workflow_type: str, body: dict):
    return manager.post(
        f"/api/temporal/workflows/{workflow_type}", {"organization": "acme", **body}, format="json"
    )


def test_runs_outlive_postgresql_being_stopped(live, api, client, demo_client):
    onboarding = {
        "client": {"name": "Initech", "email": "pg@initech.example", "platforms": ["ga4"]}
    }
    manager = api("acme-manager")  # its token is made now, while the database is up
    retrain = start(manager, "eyes-retrain", {"model": "churn", "params": {"epochs": 20_000}})
    assert retrain.status_code == 202
    started = [retrain.json()["workflow_id"]]
    time.sleep(1)  # training
    pgctl("stop")
    try:
        refused = start(manager, "client-onboarding", onboarding)
        assert refused.status_code == 503
        assert refused.json()["code"] == "database_unavailable"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "database" in ready.json()["failed"]
        time.sleep(OUTAGE_SECONDS)
    finally:
        pgctl("start")
        # This thread's connection died with the server; hand it back (the pool checks what
        # it hands out next). The web's and the worker's threads do so after each request.
        connections.close_all()

    again = start(manager, "client-onboarding", onboarding)
    assert again.status_code == 202, again.content
    started.append(again.json()["workflow_id"])
    runs = [
        wait_for_status(workflow_id, {"COMPLETED", "FAILED"}, timeout=240)
        for workflow_id in started
    ]
    assert [run.status for run in runs] == ["COMPLETED"] * 2, [run.error for run in runs]
    assert ModelVersion.objects.filter(run=runs[0]).count() == 1
    assert Client.objects.filter(email="pg@initech.example").count() == 1
    assert client.get("/readyz").status_code == 200
