"""The platform's whole chain on the real dev server and worker: onboard a client, point its
integration at an HTTP JSON source (a real local server), sync, retrain the churn model,
dry-run a campaign, then run it from the API and from the admin; the admin shows each step's
numbers."""

import pytest

from orchestration.models import Campaign, Integration, ModelVersion, WorkflowRun
from tests.paged_source import PagedSource, source_records
from tests.support import wait_for_status

pytestmark = pytest.mark.temporal
BASE = "/api/temporal/workflows"
DONE = {"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}


def run_to_the_end(api, workflow_type: str, body: dict) -> WorkflowRun:
    started = api("acme-manager").post(
        f"{BASE}/{workflow_type}", {"organization": "acme", **body}, format="json"
    )
    assert started.status_code == 202, started.content
    run = wait_for_status(started.json()["workflow_id"], DONE, timeout=60)
    assert run.status == "COMPLETED", run.error
    return run


def admin_page(client, obj) -> str:
    meta = obj._meta
    page = client.get(f"/admin/{meta.app_label}/{meta.model_name}/{obj.pk}/change/")
    assert page.status_code == 200
    return page.content.decode()


def test_onboard_configure_sync_retrain_dry_run_and_campaign(live, api, client, users):
    served = source_records(300)
    for record in served:  # a signal for the churn model: long-idle customers churn
        record["churned"] = record["days_since_last_activity"] > 45
    with PagedSource(served) as source:
        onboarding = run_to_the_end(
            api,
            "client-onboarding",
            {
                "client": {
                    "name": "Chain Co",
                    "email": "ops@chain.example",
                    "platforms": ["hubspot"],
                }
            },
        )
        client_id = onboarding.result["client_id"]
        [integration] = (
            api("acme-manager").get(f"/api/platform/clients/{client_id}").json()["integrations"]
        )
        configured = api("acme-manager").patch(
            f"/api/platform/integrations/{integration['id']}",
            {
                "connector": "http-json",
                "config": {"url": source.url, "page_size": 50},
                "credentials": {"header": "Authorization", "value": "Bearer chain"},
            },
            format="json",
        )
        assert configured.status_code == 200, configured.content
        sync = run_to_the_end(api, "platform-sync", {"client": client_id, "platform": "hubspot"})
    assert {k: sync.result[k] for k in ("pages", "fetched", "created", "updated", "records")} == {
        "pages": 6,
        "fetched": 300,
        "created": 300,
        "updated": 0,
        "records": 300,
    }
    assert {request.authorization for request in source.requests} == {"Bearer chain"}

    retrain = run_to_the_end(api, "eyes-retrain", {"model": "churn", "params": {"epochs": 50}})
    model = ModelVersion.objects.get(run=retrain)
    assert model.active and model.training_rows == 300

    dry_run = run_to_the_end(
        api,
        "retention-campaign",
        {"name": "Win-back", "channel": "email", "min_churn_risk": 0.5, "dry_run": True},
    )
    assert dry_run.result["dry_run"] is True and dry_run.result["campaign_id"] is None
    assert not Campaign.objects.exists()
    audience = dry_run.result["audience_size"]
    assert 0 < audience < 300
    assert sum(b["customers"] for b in dry_run.result["churn_risk_distribution"]) == audience

    from_api = run_to_the_end(
        api, "retention-campaign", {"name": "Win-back", "channel": "email", "min_churn_risk": 0.5}
    )
    campaign = Campaign.objects.get(run=from_api)
    assert campaign.audience.count() == audience and campaign.scored_with == model

    client.force_login(users["acme-manager"])
    start_page = "/admin/orchestration/workflowrun/start/retention-campaign/"
    posted = client.post(
        start_page,
        {
            "organization": "acme",
            "name": "Win-back (admin)",
            "channel": "sms",
            "min_churn_risk": 0.5,
        },
    )
    assert posted.status_code == 302, posted.context and posted.context["form"].errors
    from_admin = WorkflowRun.objects.exclude(pk=from_api.pk).get(
        workflow_type="retention-campaign", input__name="Win-back (admin)"
    )
    assert wait_for_status(from_admin.workflow_id, DONE, timeout=60).status == "COMPLETED"
    assert Campaign.objects.get(run=from_admin).audience.count() == audience

    # The admin shows each step's numbers.
    integration_page = admin_page(client, Integration.objects.get(pk=integration["id"]))
    assert "http-json" in integration_page and "Bearer chain" not in integration_page
    assert "<td>records fetched</td><td>300</td>" in integration_page
    sync_page = admin_page(client, sync)
    assert "6 pages, 300 fetched, 300 new, 0 updated" in sync_page
    assert "pages read" in sync_page and "records fetched" in sync_page
    assert "ROC AUC" in admin_page(client, model)
    dry_run_page = admin_page(client, dry_run)
    assert str(audience) in dry_run_page
    campaign_page = admin_page(client, campaign)
    assert f"of {audience}." in campaign_page
