"""Retention campaigns with active models: dry runs, segments, the active flag of model
versions, and what the API and the admin show of each step. The live tests run the real
workflows on the suite's Temporal server and worker."""

import time

import numpy as np
import pytest

from orchestration.models import Campaign, ModelVersion, WorkflowRun
from orchestration.platform import services, training
from orchestration.platform.errors import DataValidationError
from orchestration.services.runs import workflow_run_start
from tests.support import retrained_model, wait_for_status

BASE = "/api/temporal/workflows"
CAMPAIGN = f"{BASE}/retention-campaign"
DONE = {"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}
NO_CHURN_MODEL = "No active churn model in Acme Corp: run an EYES churn retrain first."


def body(**fields) -> dict:
    return {"organization": "acme", "name": "Win-back", "channel": "email", **fields}


def run_to_the_end(api, payload: dict, username: str = "acme-manager") -> WorkflowRun:
    response = api(username).post(CAMPAIGN, payload, format="json")
    assert response.status_code == 202, response.content
    return wait_for_status(response.json()["workflow_id"], DONE)


def segments_by_hand(organization_id: int, clustering: ModelVersion) -> np.ndarray:
    """Each synced record's segment, computed here from the stored centroids."""
    features, _, _ = services._customer_matrix(organization_id)
    p = clustering.parameters
    scaled = (features - np.array(p["mean"])) / np.array(p["scale"])
    centroids = np.array(p["centroids"])
    return np.array([int(np.argmin(np.linalg.norm(centroids - row, axis=1))) for row in scaled])


# --- models: the active flag, segments ------------------------------------------------------
def test_a_completed_retrain_takes_the_active_flag_from_the_previous_version(demo_client):
    organization = demo_client.organization
    v1 = retrained_model(organization, "churn")
    clustering = retrained_model(organization, "clustering")
    v2 = retrained_model(organization, "churn")
    v1.refresh_from_db()
    assert (v1.active, v2.active, v2.version) == (False, True, 2)
    assert ModelVersion.objects.get(pk=clustering.pk).active  # another kind: untouched


def test_a_retrain_that_stops_before_the_end_leaves_the_previous_version_active(demo_client):
    organization = demo_client.organization
    active = retrained_model(organization, "churn")
    run = WorkflowRun.objects.create(
        organization=organization, workflow_type="eyes-retrain", workflow_id="eyes-retrain-x"
    )

    def cancelled(progress, *details):
        if progress == "epoch 3/20":
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError):
        services.eyes_model_retrain(
            run_pk=run.pk,
            organization_id=organization.pk,
            model="churn",
            params={"epochs": 20},
            heartbeat=cancelled,
        )
    assert list(ModelVersion.objects.filter(active=True)) == [active]


def test_segments_are_the_nearest_centroid_as_training_assigned_them(demo_client):
    clustering = retrained_model(demo_client.organization, "clustering", clusters=3)
    features, _, _ = services._customer_matrix(demo_client.organization_id)
    assigned = training.nearest_cluster(features, clustering.parameters)
    assert (assigned == segments_by_hand(demo_client.organization_id, clustering)).all()
    # Training's own assignment (MiniBatchKMeans.predict) gave the same sizes.
    assert np.bincount(assigned, minlength=3).tolist() == clustering.metrics["cluster_sizes"]


def test_the_distribution_puts_each_risk_in_its_bucket():
    buckets = services.churn_risk_distribution([0.0, 0.1999, 0.2, 0.6, 0.6, 0.8, 1.0])
    assert buckets == [
        {"from": 0.0, "to": 0.2, "customers": 2},
        {"from": 0.2, "to": 0.4, "customers": 1},
        {"from": 0.4, "to": 0.6, "customers": 0},
        {"from": 0.6, "to": 0.8, "customers": 2},
        {"from": 0.8, "to": 1.0, "customers": 2},
    ]


# --- starting: a clear 400 when no model can serve ---------------------------------------------
def test_no_active_churn_model_is_a_400_that_says_what_to_do(api, demo_client):
    # A version that isn't active (an old one) doesn't count.
    retrained_model(demo_client.organization, "churn")
    ModelVersion.objects.update(active=False)
    response = api("acme-manager").post(CAMPAIGN, body(min_churn_risk=0.5), format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [NO_CHURN_MODEL]}
    assert not WorkflowRun.objects.filter(workflow_type="retention-campaign").exists()


def test_a_segment_needs_an_active_clustering_model_with_that_segment(api, churn_model):
    manager = api("acme-manager")
    response = manager.post(CAMPAIGN, body(segment=0), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "segment": [
            "No active clustering model in Acme Corp: run an EYES clustering retrain first."
        ]
    }
    retrained_model(churn_model.organization, "clustering", clusters=3)
    response = manager.post(CAMPAIGN, body(segment=3), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "segment": [
            "No segment 3 in Acme Corp's active clustering model (v1): its segments are 0 to 2."
        ]
    }
    assert not WorkflowRun.objects.filter(workflow_type="retention-campaign").exists()


def test_the_service_refuses_without_an_active_model_whatever_the_caller(demo_client):
    with pytest.raises(DataValidationError, match=NO_CHURN_MODEL):
        services.retention_campaign_audience(
            organization_id=demo_client.organization_id, min_churn_risk=0.5
        )


# --- live: dry runs, segments, failures --------------------------------------------------------
@pytest.mark.temporal
def test_a_dry_run_reports_the_audience_a_campaign_then_reaches(
    live, api, churn_model, client, users
):
    dry = run_to_the_end(api, body(min_churn_risk=0.6, dry_run=True))
    assert dry.status == "COMPLETED", dry.error
    assert not Campaign.objects.exists()
    assert dry.result["campaign_id"] is None and dry.result["dry_run"] is True
    assert dry.result["scored_with_model_version"] == churn_model.version
    distribution = dry.result["churn_risk_distribution"]
    assert [(b["from"], b["to"]) for b in distribution] == [
        (0.0, 0.2),
        (0.2, 0.4),
        (0.4, 0.6),
        (0.6, 0.8),
        (0.8, 1.0),
    ]
    assert dry.result["audience_size"] == sum(b["customers"] for b in distribution) > 0
    assert distribution[0]["customers"] == distribution[1]["customers"] == 0

    real = run_to_the_end(api, body(min_churn_risk=0.6))
    assert real.status == "COMPLETED", real.error
    campaign = Campaign.objects.get(run=real)
    risks = list(campaign.audience.values_list("churn_risk", flat=True))
    assert len(risks) == dry.result["audience_size"]
    assert services.churn_risk_distribution(risks) == distribution
    assert real.result["churn_risk_distribution"] == distribution
    assert (campaign.scored_with, campaign.min_churn_risk, campaign.segment) == (
        churn_model,
        0.6,
        None,
    )

    # The API's status and the admin's run page show the dry run's numbers.
    status = api("acme-viewer").get(f"{BASE}/{dry.workflow_id}/status").json()
    assert status["result"]["audience_size"] == dry.result["audience_size"]
    client.force_login(users["acme-viewer"])
    page = client.get(f"/admin/orchestration/workflowrun/{dry.pk}/change/").text
    assert "Audience (dry run: no campaign created)" in page
    assert f"<td>customers</td><td>{dry.result['audience_size']}</td>" in page
    assert "Churn risk distribution" in page
    for bucket in distribution:
        assert (
            f"<td>{bucket['from']:.1f} to {bucket['to']:.1f}</td><td>{bucket['customers']}</td>"
            in page
        )
    page = client.get(f"/admin/orchestration/workflowrun/{real.pk}/change/").text
    assert f"/admin/orchestration/campaign/{campaign.pk}/change/" in page
    assert f"/admin/orchestration/modelversion/{churn_model.pk}/change/" in page


@pytest.mark.temporal
def test_a_segment_campaign_reaches_exactly_the_customers_of_that_segment(
    live, api, churn_model, client, users
):
    clustering = retrained_model(churn_model.organization, "clustering", clusters=3)
    segments = segments_by_hand(churn_model.organization_id, clustering)
    _, _, emails = services._customer_matrix(churn_model.organization_id)
    expected = {email for email, segment in zip(emails, segments, strict=True) if segment == 1}
    assert expected

    run = run_to_the_end(api, body(segment=1))
    assert run.status == "COMPLETED", run.error
    campaign = Campaign.objects.get(run=run)
    assert set(campaign.audience.values_list("email", flat=True)) == expected
    assert (campaign.segment, campaign.min_churn_risk) == (1, None)
    assert (campaign.segmented_with, campaign.scored_with) == (clustering, churn_model)
    assert run.result["segment"] == 1
    assert run.result["segmented_with_model_version"] == clustering.version
    assert run.result["audience_size"] == len(expected)

    # The campaign's admin page says how its audience was chosen.
    client.force_login(users["acme-viewer"])
    page = client.get(f"/admin/orchestration/campaign/{campaign.pk}/change/").text
    assert f"/admin/orchestration/modelversion/{clustering.pk}/change/" in page
    assert f"/admin/orchestration/modelversion/{churn_model.pk}/change/" in page
    assert f"The {min(len(expected), 100)} riskiest of {len(expected)}." in page


@pytest.mark.temporal
def test_without_an_active_model_at_run_time_the_campaign_fails_at_once(live, churn_model, users):
    """The model can change between the start and the step: the step checks again and fails
    with the message, without retrying."""
    churn_model.active = False
    churn_model.save(update_fields=["active"])
    # Past the start serializer (which would answer 400), as a start made just before the
    # model was deactivated.
    run, _ = workflow_run_start(
        user=users["acme-manager"],
        organization=churn_model.organization,
        workflow_type="retention-campaign",
        params={
            "name": "Win-back",
            "channel": "sms",
            "min_churn_risk": 0.5,
            "segment": None,
            "dry_run": False,
        },
    )
    run = wait_for_status(run.workflow_id, DONE)
    assert run.status == "FAILED"
    assert run.error == NO_CHURN_MODEL
    assert not run.retrying and run.last_failure_attempt in (None, 1)
    assert not Campaign.objects.exists()


@pytest.mark.temporal
def test_a_cancelled_retrain_leaves_the_active_model_as_it_was(live, api, churn_model):
    response = api("acme-manager").post(
        f"{BASE}/eyes-retrain",
        {"organization": "acme", "model": "churn", "params": {"epochs": 1_000_000}},
        format="json",
    )
    assert response.status_code == 202, response.content
    workflow_id = response.json()["workflow_id"]
    for _ in range(100):
        if WorkflowRun.objects.get(workflow_id=workflow_id).current_step:
            break
        time.sleep(0.1)
    assert api("acme-manager").post(f"{BASE}/{workflow_id}/cancel").status_code == 202
    assert wait_for_status(workflow_id, DONE).status == "CANCELED"
    assert list(ModelVersion.objects.filter(active=True)) == [churn_model]


@pytest.mark.temporal
def test_a_dry_run_from_the_admins_start_page(live, client, users, churn_model):
    client.force_login(users["acme-manager"])
    url = "/admin/orchestration/workflowrun/start/retention-campaign/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'type="checkbox" name="dry_run"' in page.text
    assert 'name="segment"' in page.text and 'name="min_churn_risk"' in page.text
    # Neither audience: the form says so, on both fields.
    response = client.post(url, {"organization": "acme", "name": "W", "channel": "email"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"min_churn_risk", "segment"}

    response = client.post(
        url,
        {
            "organization": "acme",
            "name": "W",
            "channel": "email",
            "min_churn_risk": "0.6",
            "segment": "",
            "dry_run": "on",
        },
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    run = WorkflowRun.objects.get(workflow_type="retention-campaign")
    assert run.input == {
        "name": "W",
        "channel": "email",
        "min_churn_risk": 0.6,
        "segment": None,
        "dry_run": True,
    }
    run = wait_for_status(run.workflow_id, DONE)
    assert run.status == "COMPLETED", run.error
    assert run.result["audience_size"] > 0 and not Campaign.objects.exists()


@pytest.mark.temporal
def test_a_dry_run_retried_for_real_creates_the_campaign_it_reported(live, api, churn_model):
    """Dry run first, then the same input for real: a retry with one override."""
    dry = run_to_the_end(api, body(min_churn_risk=0.5, dry_run=True))
    assert dry.status == "COMPLETED", dry.error
    response = api("acme-manager").post(
        f"{BASE}/{dry.workflow_id}/retry", {"overrides": {"dry_run": False}}, format="json"
    )
    assert response.status_code == 202, response.content
    real = wait_for_status(response.json()["workflow_id"], DONE)
    assert real.status == "COMPLETED", real.error
    assert real.input == {**dry.input, "dry_run": False}
    campaign = Campaign.objects.get(run=real)
    assert campaign.audience.count() == dry.result["audience_size"]
    assert real.result["churn_risk_distribution"] == dry.result["churn_risk_distribution"]
