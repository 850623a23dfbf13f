"""Terminate, retry, history, pending activities and the audit log API, on the real server."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from orchestration.models import AuditEvent, ModelVersion, WorkflowRun
from orchestration.temporal.bridge import get_bridge
from tests.support import wait_for_status

pytestmark = pytest.mark.temporal
BASE = "/api/temporal/workflows"
DONE = {"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}


def start(api, username, workflow_type, body):
    response = api(username).post(f"{BASE}/{workflow_type}", body, format="json")
    assert response.status_code == 202, response.content
    return response.json()["workflow_id"]


def long_retrain(api):
    body = {"organization": "acme", "model": "churn", "params": {"epochs": 1_000_000}}
    return start(api, "acme-manager", "eyes-retrain", body)


def test_terminate_needs_a_reason_and_records_it(live, api, demo_client):
    workflow_id = long_retrain(api)
    client = api("acme-manager")
    missing = client.post(f"{BASE}/{workflow_id}/terminate", {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()

    response = client.post(f"{BASE}/{workflow_id}/terminate", {"reason": "wrong data set"})
    assert response.status_code == 200
    assert response.json()["status"] == "TERMINATED"
    run = WorkflowRun.objects.get(workflow_id=workflow_id)
    assert run.error == "Terminated by acme-manager: wrong data set"
    assert get_bridge().describe(workflow_id).status == "TERMINATED"
    actions = set(run.audit_events.values_list("action", flat=True))
    assert {"workflow.terminate", "workflow.status"} <= actions
    assert not ModelVersion.objects.filter(run=run).exists()

    again = client.post(f"{BASE}/{workflow_id}/terminate", {"reason": "again"})
    assert again.status_code == 409


def test_retry_with_an_override_starts_a_linked_run(live, api, demo_client):
    body = {
        "organization": "acme",
        "client": {"name": "Copy", "email": "demo@acme.example", "platforms": ["ga4"]},
    }
    failed = wait_for_status(start(api, "acme-manager", "client-onboarding", body), DONE)
    assert failed.status == "FAILED"
    client = api("acme-manager")

    refused = [
        ({"overrides": {"organization": "globex"}}, "overrides"),
        ({"overrides": {"client": {"email": "not-an-email"}}}, "client"),
        ({"overrides": {}, "extra": 1}, "extra"),
    ]
    for payload, field in refused:
        response = client.post(f"{BASE}/{failed.workflow_id}/retry", payload, format="json")
        assert response.status_code == 400 and field in response.json(), response.content
    assert WorkflowRun.objects.count() == 1

    override = {"overrides": {"client": {"email": "copy@acme.example"}}}
    response = client.post(f"{BASE}/{failed.workflow_id}/retry", override, format="json")
    assert response.status_code == 202
    retried = wait_for_status(response.json()["workflow_id"], DONE)
    assert retried.status == "COMPLETED", retried.error
    assert retried.retry_of_id == failed.pk
    assert retried.input == {"name": "Copy", "email": "copy@acme.example", "platforms": ["ga4"]}
    assert retried.audit_events.filter(
        action="workflow.retry", actor_username="acme-manager"
    ).exists()

    running = long_retrain(api)
    assert client.post(f"{BASE}/{running}/retry", {}, format="json").status_code == 409


def test_history_is_readable_and_paginated(live, api, demo_client):
    body = {"organization": "acme", "client": demo_client.pk, "platform": "ga4"}
    run = wait_for_status(start(api, "acme-operator", "platform-sync", body), DONE)
    client = api("acme-viewer")
    whole = client.get(f"{BASE}/{run.workflow_id}/history", {"page_size": 200}).json()
    types = [event["type"] for event in whole["events"]]
    assert types[0] == "WorkflowExecutionStarted"
    assert types[-1] == "WorkflowExecutionCompleted"
    scheduled = [e for e in whole["events"] if e["type"] == "ActivityTaskScheduled"]
    assert [e["activity"] for e in scheduled] == ["sync_platform_data", "normalize_platform_data"]
    assert whole["next_page_token"] is None

    first = client.get(f"{BASE}/{run.workflow_id}/history", {"page_size": 3}).json()
    assert [e["event_id"] for e in first["events"]] == [1, 2, 3]
    second = client.get(first["next"]).json()
    assert second["events"][0]["event_id"] == 4

    assert client.get(f"{BASE}/{run.workflow_id}/history", {"page_size": 0}).status_code == 400
    bad_token = client.get(f"{BASE}/{run.workflow_id}/history", {"page_token": "%%%"})
    assert bad_token.status_code == 400


def test_a_failing_activity_shows_as_retrying_with_its_last_failure(live, api, demo_client, orgs):
    # A churn model whose stored parameters are unusable: scoring raises on every attempt.
    broken = WorkflowRun.objects.create(
        organization=orgs["acme"], workflow_type="eyes-retrain", workflow_id="eyes-retrain-broken"
    )
    ModelVersion.objects.create(
        organization=orgs["acme"],
        kind="churn",
        version=1,
        parameters={},
        training_rows=0,
        active=True,
        run=broken,
    )
    body = {"organization": "acme", "name": "W", "channel": "sms", "min_churn_risk": 0.5}
    workflow_id = start(api, "acme-manager", "retention-campaign", body)

    run = wait_for_status(workflow_id, {"RUNNING"})
    for _ in range(100):
        run.refresh_from_db()
        if run.retrying:
            break
        time.sleep(0.1)
    assert run.retrying
    assert run.last_failure_activity == "create_retention_campaign"
    assert "mean" in run.last_failure

    # Backoff leaves seconds between attempts: the run is still running and says why.
    status = api("acme-viewer").get(f"{BASE}/{workflow_id}/status").json()
    assert (status["status"], status["retrying"]) == ("RUNNING", True)
    pending = status["pending_activities"][0]
    assert (pending["activity"], pending["maximum_attempts"]) == ("create_retention_campaign", 3)
    listed = api("acme-viewer").get(BASE, {"retrying": "true"}).json()
    assert [r["workflow_id"] for r in listed["results"]] == [workflow_id]

    final = wait_for_status(workflow_id, DONE, timeout=30)
    assert final.status == "FAILED"
    assert final.retrying is False
    assert final.last_failure_attempt == 3


def test_audit_log_api_filters(live, api, demo_client):
    body = {"organization": "acme", "client": demo_client.pk, "platform": "ga4"}
    workflow_id = start(api, "acme-operator", "platform-sync", body)
    wait_for_status(workflow_id, DONE)
    client = api("acme-viewer")
    by_run = client.get("/api/audit/events", {"run": workflow_id}).json()["results"]
    assert {e["action"] for e in by_run} == {
        "workflow.start",
        "workflow.started",
        "workflow.status",
    }
    by_actor = client.get(
        "/api/audit/events", {"actor": "acme-operator", "action": "workflow.start"}
    )
    assert [e["workflow_id"] for e in by_actor.json()["results"]] == [workflow_id]
    assert all(e["request_id"] for e in by_actor.json()["results"])
    assert client.get("/api/audit/events", {"created_after": "yesterday"}).status_code == 400
    assert AuditEvent.objects.filter(organization__slug="globex").count() >= 1
    assert client.get("/api/audit/events", {"organization": "globex"}).json()["count"] == 0


def test_schema_is_valid_openapi_3_and_lists_every_endpoint(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert schema["openapi"].startswith("3.")
    expected = {
        "/api/auth/token",
        "/api/audit/events",
        "/api/temporal/health",
        "/api/temporal/configuration",
        "/api/temporal/workflows",
        "/api/temporal/workflows/client-onboarding",
        "/api/temporal/workflows/platform-sync",
        "/api/temporal/workflows/eyes-retrain",
        "/api/temporal/workflows/retention-campaign",
        "/api/temporal/workflows/client-offboarding",
        "/api/temporal/workflows/{workflow_id}/status",
        "/api/temporal/workflows/{workflow_id}/history",
        "/api/temporal/workflows/{workflow_id}/cancel",
        "/api/temporal/workflows/{workflow_id}/terminate",
        "/api/temporal/workflows/{workflow_id}/retry",
    }
    assert expected <= set(schema["paths"])
    start = schema["paths"]["/api/temporal/workflows/client-onboarding"]["post"]
    assert {"202", "400", "403", "503"} <= set(start["responses"])
    assert client.get("/api/docs/").status_code == 200


def test_the_schema_generates_without_warnings():
    """Warnings (an enum name collision, an unresolvable field type) leave clients with
    generated names like Status261Enum or untyped fields."""
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", os.devnull)


def test_production_settings_pass_the_deploy_check():
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "omnify.settings.production",
        "DJANGO_SECRET_KEY": "x" * 20 + "a-long-and-random-enough-production-secret-key-0123456789",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
