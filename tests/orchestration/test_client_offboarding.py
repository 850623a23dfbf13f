"""Client offboarding, the type added only through its unit: through the API and the admin
on the real dev server with the real worker, its effects, who may run it, and its steps'
idempotence."""

import pytest

from orchestration.models import (
    Campaign,
    CampaignMember,
    Client,
    Dashboard,
    Integration,
    RawRecord,
    SyncedRecord,
    WorkflowRun,
)
from orchestration.platform.errors import DataValidationError
from orchestration.workflows.client_offboarding import services
from tests.support import wait_for_status

START = "/api/temporal/workflows/client-offboarding"
DONE = {"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}


@pytest.fixture
def acme_customers(orgs, demo_client):
    """A dashboard for the demo client, a second client sharing one customer with it, and a
    campaign whose audience holds two of the demo client's customers (one shared)."""
    Dashboard.objects.create(client=demo_client, title="Acme demo overview")
    records = SyncedRecord.objects.filter(client=demo_client)
    emails = sorted(set(records.values_list("email", flat=True)))
    own, shared = emails[0], emails[1]
    other = Client.objects.create(
        organization=orgs["acme"], name="Other", email="other@acme.example", status="active"
    )
    SyncedRecord.objects.create(
        client=other,
        platform="ga4",
        external_id="x-1",
        email=shared,
        sessions=1,
        spend=1,
        days_since_last_activity=1,
        support_tickets=0,
        churned=False,
    )
    run = WorkflowRun.objects.create(
        organization=orgs["acme"],
        workflow_type="retention-campaign",
        workflow_id="retention-campaign-fixture",
        status="COMPLETED",
    )
    campaign = Campaign.objects.create(
        organization=orgs["acme"], name="Win-back", channel="email", min_churn_risk=0.5, run=run
    )
    for email in (own, shared, "stranger@example.com"):
        CampaignMember.objects.create(campaign=campaign, email=email, churn_risk=0.7)
    return {"own": own, "shared": shared, "campaign": campaign, "other": other}


@pytest.mark.temporal
def test_offboarding_revokes_erases_and_archives(live, api, demo_client, acme_customers):
    records = SyncedRecord.objects.filter(client=demo_client).count()
    # What a source connector read, raw (personal data too): it goes with the client.
    hubspot = Integration.objects.get(client=demo_client, platform="hubspot")
    RawRecord.objects.create(
        integration=hubspot, stream="contacts", key="1001", data={"email": "raw@acme.example"}
    )
    response = api("acme-manager").post(
        START, {"organization": "acme", "client": demo_client.pk}, format="json"
    )
    assert response.status_code == 202, response.content
    run = wait_for_status(response.json()["workflow_id"], DONE)
    assert run.status == "COMPLETED", run.error
    assert run.result == {
        "client_id": demo_client.pk,
        "integrations_revoked": ["ga4", "hubspot"],
        "records_erased": records,
        "campaign_members_removed": 1,
        "dashboard_archived": True,
    }
    assert run.steps_done == [
        "revoke_client_integrations",
        "erase_client_records",
        "archive_client_dashboard",
    ]
    demo_client.refresh_from_db()
    assert demo_client.status == "offboarded"
    assert demo_client.offboarded_by_run_id == run.pk
    assert not Integration.objects.filter(client=demo_client).exists()
    assert not SyncedRecord.objects.filter(client=demo_client).exists()
    assert not RawRecord.objects.filter(data__email="raw@acme.example").exists()
    assert Dashboard.objects.get(client=demo_client).archived_at is not None
    audience = set(acme_customers["campaign"].audience.values_list("email", flat=True))
    # The customer who is also another client's stays; so does someone no client knows.
    assert audience == {acme_customers["shared"], "stranger@example.com"}
    assert SyncedRecord.objects.filter(client=acme_customers["other"]).count() == 1


@pytest.mark.temporal
def test_offboarding_from_the_admins_start_page(live, client, users, demo_client):
    client.force_login(users["acme-manager"])
    page = client.get("/admin/orchestration/workflowrun/start/client-offboarding/")
    assert page.status_code == 200
    assert f'<option value="{demo_client.pk}">Acme demo (acme)</option>' in page.text
    response = client.post(
        "/admin/orchestration/workflowrun/start/client-offboarding/",
        {"organization": "acme", "client": demo_client.pk},
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    run = WorkflowRun.objects.get(workflow_type="client-offboarding")
    assert wait_for_status(run.workflow_id, DONE).status == "COMPLETED"
    demo_client.refresh_from_db()
    assert demo_client.status == "offboarded"


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["acme-operator", "acme-viewer"])
def test_offboarding_is_for_managers_and_admins(api, demo_client, username):
    response = api(username).post(
        START, {"organization": "acme", "client": demo_client.pk}, format="json"
    )
    assert response.status_code == 403
    assert not WorkflowRun.objects.exists()


@pytest.mark.django_db
def test_offboarding_refuses_bad_clients_with_field_errors(api, orgs, demo_client):
    globex_client = Client.objects.create(
        organization=orgs["globex"], name="G", email="g@globex.example"
    )
    cases = [
        ({"client": globex_client.pk}, f"No client with id {globex_client.pk} in acme."),
        ({"client": 0}, "Ensure this value is greater than or equal to 1."),
        ({"client": "x"}, "A valid integer is required."),
        ({}, "This field is required."),
    ]
    for body, message in cases:
        response = api("acme-manager").post(START, {"organization": "acme", **body}, format="json")
        assert response.status_code == 400, body
        assert response.json() == {"client": [message]}
    Client.objects.filter(pk=demo_client.pk).update(status="offboarded")
    response = api("acme-manager").post(
        START, {"organization": "acme", "client": demo_client.pk}, format="json"
    )
    assert response.json() == {"client": ["Acme demo is already offboarded or being offboarded."]}
    assert not WorkflowRun.objects.exists()


def _offboarding_run(organization, number: int) -> WorkflowRun:
    return WorkflowRun.objects.create(
        organization=organization,
        workflow_type="client-offboarding",
        workflow_id=f"client-offboarding-{number}",
        status="RUNNING",
    )


@pytest.mark.django_db
def test_each_step_repeated_answers_what_it_did_the_first_time(orgs, demo_client, acme_customers):
    run = _offboarding_run(orgs["acme"], 1)
    target = {
        "run_pk": str(run.pk),
        "organization_id": orgs["acme"].pk,
        "client_id": demo_client.pk,
    }
    records = SyncedRecord.objects.filter(client=demo_client).count()
    for _ in range(2):  # a retried attempt after the first one committed
        assert services.client_integrations_revoke(**target) == ["ga4", "hubspot"]
        assert services.client_records_erase(**target) == (records, 1)
        assert services.client_dashboard_archive(**target) is True
    other_run = _offboarding_run(orgs["acme"], 2)
    with pytest.raises(DataValidationError, match="is offboarded by another run"):
        services.client_integrations_revoke(**{**target, "run_pk": str(other_run.pk)})
    with pytest.raises(DataValidationError, match="No client"):
        services.client_integrations_revoke(**{**target, "organization_id": orgs["globex"].pk})


@pytest.mark.django_db
def test_the_start_page_offers_only_clients_that_can_be_offboarded(
    client, users, orgs, demo_client
):
    leaving = Client.objects.create(
        organization=orgs["acme"], name="Leaving", email="l@acme.example", status="offboarded"
    )
    Client.objects.create(organization=orgs["globex"], name="Globex's", email="g@globex.example")
    client.force_login(users["acme-manager"])
    page = client.get("/admin/orchestration/workflowrun/start/client-offboarding/")
    offered = list(page.context["form"].fields["client"].queryset)
    assert offered == [demo_client]
    assert leaving not in offered
