"""HubSpot's real Airbyte connector (`source-hubspot`, pinned) reading contacts from a local
HTTPS fixture shaped like HubSpot's documented CRM v3 API (tests/hubspot_fixture.py), reached
through HTTPS_PROXY with a test CA, with no network: the private app's token is sent and
never shown; contacts normalize into the client's customers; a churn model trains on them
and a campaign's audience is scored with it; the next sync asks HubSpot's search API only
for contacts modified since the state it committed."""

from decimal import Decimal

import pytest

from orchestration.models import Client, Integration, RawRecord, SyncedRecord
from orchestration.platform.integration_settings import (
    IntegrationSettingsSerializer,
    integration_settings_save,
)
from orchestration.platform.services import retention_campaign_audience
from orchestration.platform.sync import platform_records_normalize, platform_records_sync
from tests.https_fixture import HttpsFixture
from tests.hubspot_fixture import HubSpotApi, hubspot_contacts
from tests.support import retrained_model

TOKEN = "pat-na1-fixture-token-0000"


@pytest.fixture
def hubspot(orgs, monkeypatch):
    contacts = hubspot_contacts(250)
    api = HubSpotApi(contacts, TOKEN)
    with HttpsFixture(api.route, ("api.hubapi.com",)) as fixture:
        for name, value in fixture.env().items():
            monkeypatch.setenv(name, value)
        client = Client.objects.create(
            organization=orgs["acme"],
            name="HubSpot user",
            email="hs@acme.example",
            status="active",
        )
        integration = Integration.objects.create(client=client, platform="hubspot")
        settings = IntegrationSettingsSerializer(
            data={
                "connector": "hubspot",
                "config": {
                    "credentials": {
                        "credentials_title": "Private App Credentials",
                        "access_token": TOKEN,
                    },
                    "start_date": "2025-01-01T00:00:00Z",
                },
            },
            partial=True,
            context={"integration": integration},
        )
        settings.is_valid(raise_exception=True)
        yield integration, contacts, fixture, settings.validated_data


def sync(integration):
    outcome = platform_records_sync(
        organization_id=integration.client.organization_id,
        client_id=integration.client_id,
        platform="hubspot",
        heartbeat=lambda *details: None,
    )
    normalized = platform_records_normalize(
        organization_id=integration.client.organization_id,
        client_id=integration.client_id,
        platform="hubspot",
    )
    return outcome, normalized


def test_hubspots_real_connector_feeds_customers_a_churn_model_and_a_campaign(hubspot, users, orgs):
    integration, contacts, fixture, settings = hubspot
    integration_settings_save(
        user=users["acme-manager"], integration=integration, settings=settings
    )
    integration.refresh_from_db()
    assert TOKEN not in str(integration.config)

    outcome, normalized = sync(integration)

    assert not fixture.refused, "the connector asked a host the fixture doesn't serve"
    assert outcome.progress.fetched == 250
    assert RawRecord.objects.filter(integration=integration, stream="contacts").count() == 250
    # Two contacts have no e-mail: not customers a campaign can reach, so not normalized.
    reachable = [c for c in contacts if c["properties"]["email"] is not None]
    assert len(reachable) == 248
    assert normalized.mapped and normalized.customers == 248
    customers = {c.external_id: c for c in SyncedRecord.objects.filter(client=integration.client)}
    assert set(customers) == {c["id"] for c in reachable}
    for contact in reachable:
        properties = contact["properties"]
        customer = customers[contact["id"]]
        assert customer.email == properties["email"]
        # What nobody filled in counts as none (no visits, revenue, tickets; not churned).
        assert customer.sessions == int(properties["hs_analytics_num_visits"] or 0)
        assert customer.spend == Decimal(properties["total_revenue"] or 0)
        assert customer.support_tickets == int(properties["num_associated_tickets"] or 0)
        assert customer.churned == (properties["churned"] == "true")

    version = retrained_model(orgs["acme"], "churn")
    assert version.training_rows >= len(reachable)
    audience = retention_campaign_audience(organization_id=orgs["acme"].pk, min_churn_risk=0.5)
    assert audience.members and audience.scored_with == version

    asked_before = len(fixture.seen)
    again, _ = sync(integration)
    searches = [s for s in fixture.seen[asked_before:] if s.path.endswith("/search")]
    assert searches, "the second sync didn't continue incrementally"
    assert again.progress.fetched < 250
