"""End to end on the real Temporal dev server with the console's real worker: each workflow
started through the API reaches COMPLETED in the database with its effects written."""

import time

import pytest

from orchestration.models import (
    AuditEvent,
    Campaign,
    Client,
    Dashboard,
    ModelVersion,
    SyncedRecord,
    WorkflowRun,
)
from tests.support import temporal_says, wait_for_status

pytestmark = pytest.mark.temporal
BASE = "/api/temporal/workflows"
DONE = {"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}


def start(api, username, workflow_type, body, **headers):
    response = api(username).post(f"{BASE}/{workflow_type}", body, format="json", **headers)
    assert response.status_code in (200, 202), response.content
    return response.json()


def test_client_onboarding_creates_client_integrations_and_dashboard(live, api):
    body = {
        "organization": "acme",
        "client": {
            "name": "Initech",
            "email": "ops@initech.example",
            "platforms": ["ga4", "tiktok"],
        },
    }
    response = api("acme-operator").post(f"{BASE}/client-onboarding", body, format="json")
    assert response.status_code == 202
    started = response.json()
    assert started["status"] == "RUNNING"
    assert started["run_id"]
    assert started["organization"] == "acme"
    assert started["started_by"] == "acme-operator"
    assert started["status_url"].endswith(
        f"/api/temporal/workflows/{started['workflow_id']}/status"
    )

    run = wait_for_status(started["workflow_id"], DONE)
    assert run.status == "COMPLETED", run.error
    client = Client.objects.get(pk=run.result["client_id"])
    assert (client.name, client.status, client.created_by_run_id) == ("Initech", "active", run.pk)
    assert sorted(client.integrations.values_list("platform", flat=True)) == ["ga4", "tiktok"]
    assert Dashboard.objects.filter(client=client).count() == 1
    assert run.steps_done == [
        "validate_client_data",
        "setup_client_integrations",
        "create_client_dashboard",
    ]

    status = api("acme-viewer").get(started["status_url"]).json()
    assert status["status"] == "COMPLETED"
    assert status["result"]["client_id"] == client.pk
    temporal_says(run.workflow_id, "COMPLETED")
    actions = list(run.audit_events.order_by("id").values_list("action", flat=True))
    assert actions == ["workflow.start", "workflow.started", "workflow.status"]


def test_platform_sync_stores_the_demo_sources_records(live, api, demo_client):
    body = {"organization": "acme", "client": demo_client.pk, "platform": "ga4"}
    SyncedRecord.objects.filter(client=demo_client, platform="ga4").delete()
    run = wait_for_status(start(api, "acme-operator", "platform-sync", body)["workflow_id"], DONE)
    assert run.status == "COMPLETED", run.error
    assert run.result == {
        "client_id": demo_client.pk,
        "platform": "ga4",
        "records": 200,
        "created": 200,
        "updated": 0,
        "fetched": 200,
        "pages": 1,
        "full": False,
        # The demo connector reads customers: nothing raw to normalize.
        "normalized": False,
        "customers_created": 0,
        "customers_updated": 0,
    }
    assert SyncedRecord.objects.filter(client=demo_client, platform="ga4").count() == 200
    assert demo_client.integrations.get(platform="ga4").last_synced_at is not None

    # A second, full sync reads everything again and updates in place: none created.
    body["full"] = True
    again = wait_for_status(start(api, "acme-operator", "platform-sync", body)["workflow_id"], DONE)
    assert (again.result["created"], again.result["updated"]) == (0, 200)
    assert SyncedRecord.objects.filter(client=demo_client, platform="ga4").count() == 200


@pytest.mark.parametrize("model", ["churn", "clustering"])
def test_eyes_retrain_stores_a_model_version_with_metrics(live, api, demo_client, model):
    body = {"organization": "acme", "model": model, "params": {"epochs": 5}}
    run = wait_for_status(start(api, "acme-manager", "eyes-retrain", body)["workflow_id"], DONE)
    assert run.status == "COMPLETED", run.error
    version = ModelVersion.objects.get(run=run)
    assert (version.kind, version.version, version.training_rows) == (model, 1, 400)
    assert version.active
    assert run.result["model_version_id"] == version.pk
    if model == "churn":
        assert 0.5 < version.metrics["roc_auc"] <= 1
    else:
        assert sum(version.metrics["cluster_sizes"]) == 400


def test_retention_campaign_targets_customers_at_or_above_the_risk(live, api, churn_model):
    body = {"organization": "acme", "name": "Win-back", "channel": "email", "min_churn_risk": 0.6}
    run = wait_for_status(start(api, "acme-admin", "retention-campaign", body)["workflow_id"], DONE)
    assert run.status == "COMPLETED", run.error
    campaign = Campaign.objects.get(run=run)
    risks = list(campaign.audience.values_list("churn_risk", flat=True))
    assert risks and min(risks) >= 0.6
    assert run.result["audience_size"] == len(risks)
    assert campaign.scored_with == churn_model  # the active churn model scored it


def test_invalid_client_data_fails_at_once_with_a_readable_message(live, api, demo_client):
    body = {
        "organization": "acme",
        "client": {"name": "Copycat", "email": "demo@acme.example", "platforms": ["ga4"]},
    }
    run = wait_for_status(
        start(api, "acme-operator", "client-onboarding", body)["workflow_id"], DONE
    )
    assert run.status == "FAILED"
    assert run.error == "A client with the e-mail demo@acme.example already exists in Acme Corp."
    assert not Client.objects.filter(name="Copycat").exists()
    temporal_says(run.workflow_id, "FAILED")


def test_cancelling_a_long_retrain_ends_canceled_and_stores_nothing(live, api, demo_client):
    body = {"organization": "acme", "model": "churn", "params": {"epochs": 1_000_000}}
    workflow_id = start(api, "acme-manager", "eyes-retrain", body)["workflow_id"]
    wait_for_status(workflow_id, {"RUNNING"})
    run = WorkflowRun.objects.get(workflow_id=workflow_id)
    for _ in range(100):  # until the activity is actually training
        run.refresh_from_db()
        if run.current_step == "retrain_eyes_model":
            break
        time.sleep(0.1)

    response = api("acme-manager").post(f"{BASE}/{workflow_id}/cancel")
    assert response.status_code == 202
    assert response.json()["cancel_requested_by"] == "acme-manager"
    run = wait_for_status(workflow_id, DONE, timeout=15)
    assert run.status == "CANCELED"
    assert not ModelVersion.objects.filter(run=run).exists()
    # The workflow reports CANCELED to the console just before its last task completes.
    temporal_says(workflow_id, "CANCELED")
    assert run.audit_events.filter(action="workflow.cancel", actor_username="acme-manager").exists()

    again = api("acme-manager").post(f"{BASE}/{workflow_id}/cancel")
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


def test_operators_cannot_cancel_sensitive_runs_and_other_orgs_get_404(live, api, demo_client):
    body = {"organization": "acme", "model": "churn", "params": {"epochs": 1_000_000}}
    workflow_id = start(api, "acme-manager", "eyes-retrain", body)["workflow_id"]
    assert api("acme-operator").post(f"{BASE}/{workflow_id}/cancel").status_code == 403
    assert api("globex-manager").post(f"{BASE}/{workflow_id}/cancel").status_code == 404
    assert api("globex-manager").get(f"{BASE}/{workflow_id}/status").status_code == 404
    assert api("acme-viewer").get(f"{BASE}/{workflow_id}/status").status_code == 200
    assert not AuditEvent.objects.filter(action="workflow.cancel").exists()
    assert WorkflowRun.objects.get(workflow_id=workflow_id).cancel_requested_at is None


def test_idempotency_key_returns_the_original_run(live, api, demo_client):
    body = {"organization": "acme", "client": demo_client.pk, "platform": "hubspot"}
    headers = {"HTTP_IDEMPOTENCY_KEY": "sync-2026-11-25"}
    first = api("acme-operator").post(f"{BASE}/platform-sync", body, format="json", **headers)
    second = api("acme-manager").post(f"{BASE}/platform-sync", body, format="json", **headers)
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["workflow_id"] == second.json()["workflow_id"]
    assert WorkflowRun.objects.count() == 1
    assert AuditEvent.objects.filter(action="workflow.idempotent_replay").count() == 1


def test_run_list_is_scoped_and_newest_first(live, api, demo_client):
    body = {"organization": "acme", "client": demo_client.pk, "platform": "ga4"}
    ids = [start(api, "acme-operator", "platform-sync", body)["workflow_id"] for _ in range(3)]
    listed = api("acme-viewer").get(BASE).json()
    assert listed["count"] == 3
    assert [r["workflow_id"] for r in listed["results"]] == list(reversed(ids))
    assert api("globex-manager").get(BASE).json()["count"] == 0
