"""Every start endpoint refuses bad input with 400 and field errors, refuses callers without
the role with 401/403, and writes nothing when it refuses. No Temporal needed: a refused
request never gets that far."""

import pytest

from orchestration.models import AuditEvent, WorkflowRun

ONBOARDING = "/api/temporal/workflows/client-onboarding"
SYNC = "/api/temporal/workflows/platform-sync"
RETRAIN = "/api/temporal/workflows/eyes-retrain"
CAMPAIGN = "/api/temporal/workflows/retention-campaign"

VALID_CLIENT = {"name": "Initech", "email": "ops@initech.example", "platforms": ["ga4"]}

BAD_INPUT = [
    (ONBOARDING, {}, {"organization", "client"}),
    (ONBOARDING, {"organization": "nope", "client": VALID_CLIENT}, {"organization"}),
    (ONBOARDING, {"organization": "acme", "client": {}}, {"client"}),
    (
        ONBOARDING,
        {"organization": "acme", "client": {**VALID_CLIENT, "email": "not-an-email"}},
        {"client"},
    ),
    (
        ONBOARDING,
        {"organization": "acme", "client": {**VALID_CLIENT, "platforms": ["myspace"]}},
        {"client"},
    ),
    (
        ONBOARDING,
        {"organization": "acme", "client": {**VALID_CLIENT, "platforms": []}},
        {"client"},
    ),
    (
        ONBOARDING,
        {"organization": "acme", "client": {**VALID_CLIENT, "platforms": ["ga4", "ga4"]}},
        {"client"},
    ),
    (ONBOARDING, {"organization": "acme", "client": VALID_CLIENT, "extra": 1}, {"extra"}),
    (SYNC, {"organization": "acme"}, {"client", "platform"}),
    (SYNC, {"organization": "acme", "client": "x", "platform": "ga4"}, {"client"}),
    (SYNC, {"organization": "acme", "client": 999999, "platform": "ga4"}, {"client"}),
    (SYNC, {"organization": "acme", "client": "DEMO", "platform": "youtube"}, {"platform"}),
    (SYNC, {"organization": "acme", "client": "DEMO", "platform": "fax"}, {"platform"}),
    (RETRAIN, {"organization": "acme"}, {"model"}),
    (RETRAIN, {"organization": "acme", "model": "astrology"}, {"model"}),
    (RETRAIN, {"organization": "acme", "model": "churn", "params": {"epochs": 0}}, {"params"}),
    (
        RETRAIN,
        {"organization": "acme", "model": "churn", "params": {"learning_rate": 1}},
        {"params"},
    ),
    (
        RETRAIN,
        {"organization": "acme", "model": "clustering", "params": {"clusters": 1}},
        {"params"},
    ),
    (CAMPAIGN, {"organization": "acme"}, {"name", "channel"}),
    (
        CAMPAIGN,
        {"organization": "acme", "name": "W", "channel": "email"},
        {"min_churn_risk", "segment"},
    ),
    (
        CAMPAIGN,
        {
            "organization": "acme",
            "name": "W",
            "channel": "sms",
            "min_churn_risk": 0.5,
            "segment": 1,
        },
        {"min_churn_risk", "segment"},
    ),
    (
        CAMPAIGN,
        {"organization": "acme", "name": "W", "channel": "sms", "segment": -1},
        {"segment"},
    ),
    (
        CAMPAIGN,
        {"organization": "acme", "name": "W", "channel": "pigeon", "min_churn_risk": 0.5},
        {"channel"},
    ),
    (
        CAMPAIGN,
        {"organization": "acme", "name": "W", "channel": "email", "min_churn_risk": 1.5},
        {"min_churn_risk"},
    ),
    (
        CAMPAIGN,
        {"organization": "acme", "name": "", "channel": "email", "min_churn_risk": 0.5},
        {"name"},
    ),
]


@pytest.mark.parametrize(("url", "body", "fields"), BAD_INPUT)
def test_bad_input_is_400_with_field_errors_and_writes_nothing(api, demo_client, url, body, fields):
    if body.get("client") == "DEMO":
        body = {**body, "client": demo_client.pk}
    response = api("acme-admin").post(url, body, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) == fields
    assert not WorkflowRun.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="workflow.").exists()


def test_another_organizations_client_is_a_field_error(api, demo_client, orgs):
    body = {"organization": "globex", "client": demo_client.pk, "platform": "ga4"}
    response = api("globex-manager").post(SYNC, body, format="json")
    assert response.status_code == 400
    assert "client" in response.json()


GOOD = {
    ONBOARDING: {"organization": "acme", "client": VALID_CLIENT},
    RETRAIN: {"organization": "acme", "model": "churn"},
    CAMPAIGN: {"organization": "acme", "name": "W", "channel": "email", "min_churn_risk": 0.5},
}


@pytest.mark.parametrize(
    ("username", "url", "status"),
    [
        (None, ONBOARDING, 401),
        ("acme-viewer", ONBOARDING, 403),
        ("acme-operator", RETRAIN, 403),
        ("acme-operator", CAMPAIGN, 403),
        # globex-manager may start these in globex: naming acme is a field error (below).
        ("globex-manager", ONBOARDING, 400),
        ("globex-manager", RETRAIN, 400),
        ("outsider", CAMPAIGN, 403),
    ],
)
def test_callers_without_the_role_are_refused_and_nothing_is_written(api, username, url, status):
    response = api(username).post(url, GOOD[url], format="json")
    assert response.status_code == status, response.content
    assert not WorkflowRun.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="workflow.").exists()


@pytest.mark.parametrize("url", [ONBOARDING, RETRAIN, CAMPAIGN])
def test_an_organization_without_a_role_answers_as_one_that_does_not_exist(api, url):
    """globex-manager learns nothing about acme: naming it answers exactly as naming an
    organization that doesn't exist (but with its slug)."""
    caller = api("globex-manager")
    other = caller.post(url, GOOD[url], format="json")
    unknown = caller.post(url, {**GOOD[url], "organization": "nope"}, format="json")
    assert other.status_code == unknown.status_code == 400
    assert other.json() == {
        "organization": ["No organization with the slug acme where you may start this workflow."]
    }
    assert unknown.json() == {
        "organization": ["No organization with the slug nope where you may start this workflow."]
    }
    assert not WorkflowRun.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="workflow.").exists()


def test_token_endpoint_issues_a_token_for_valid_credentials_only(api, users):
    client = api()
    assert (
        client.post("/api/auth/token", {"username": "acme-viewer", "password": "x"}).status_code
        == 400
    )
    response = client.post("/api/auth/token", {"username": "acme-viewer", "password": "pw"})
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/temporal/workflows").status_code == 200
