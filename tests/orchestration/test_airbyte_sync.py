"""Syncs through real Airbyte source connectors (installed by `make test` into
var/connectors/), at the service level against the test database: settings are validated
against the connectors' specs, every record read is kept raw by its
primary key with the connector's state committed alongside, a second sync continues from
that state, faker's shop normalizes into customers, and a connector's own error fails the
sync with its message."""

import json
from pathlib import Path

import pytest
import yaml

from orchestration.models import (
    AuditEvent,
    Client,
    ConnectorLog,
    Integration,
    RawRecord,
    SyncedRecord,
    WorkflowRun,
)
from orchestration.platform.airbyte import spec
from orchestration.platform.airbyte.secrets import MASK
from orchestration.platform.airbyte.sources import SOURCES
from orchestration.platform.connectors import ConnectorFailure, config_validated
from orchestration.platform.credentials import integration_opened
from orchestration.platform.sync import platform_records_normalize
from tests.orchestration.test_connectors import sync
from tests.paged_source import PagedSource, source_records


def test_settings_are_validated_against_the_connectors_spec_with_its_defaults():
    assert config_validated("faker", {"count": 10}) == {
        "count": 10,
        "seed": -1,
        "records_per_slice": 1000,
        "always_updated": True,
        "parallelism": 4,
    }
    with pytest.raises(Exception) as refused:
        config_validated("faker", {"count": 0, "seed": "seven", "parallelism": 2})
    assert refused.value.detail == {
        "count": ["Must be at least 1."],
        "seed": ["Must be of type integer."],
    }


def test_a_secret_is_never_repeated_in_a_validation_message():
    secret = "pat-na1-0123456789"
    with pytest.raises(Exception) as refused:
        config_validated(
            "hubspot",
            {
                "start_date": 5,
                "credentials": {"credentials_title": "Private App Credentials", "access_token": 7},
            },
        )
    assert secret not in json.dumps(refused.value.detail)
    assert "start_date" in refused.value.detail
    assert spec.secret_fields(SOURCES["hubspot"]) >= {"access_token", "client_secret"}


@pytest.fixture
def shop(orgs):
    client = Client.objects.create(
        organization=orgs["acme"], name="Shop", email="shop@acme.example", status="active"
    )
    return Integration.objects.create(
        client=client,
        platform="hubspot",
        connector="faker",
        config=config_validated(
            "faker",
            {
                "count": 300,
                "seed": 7,
                "records_per_slice": 100,
                "always_updated": False,
                "parallelism": 1,
            },
        ),
    )


def raw_counts(integration) -> dict[str, int]:
    return {
        stream: RawRecord.objects.filter(integration=integration, stream=stream).count()
        for stream in ("users", "purchases", "products")
    }


def test_a_faker_sync_keeps_every_record_raw_and_the_next_one_continues_from_its_state(shop):
    outcome, beats = sync(shop)

    counts = raw_counts(shop)
    assert counts["users"] == 300 and counts["products"] > 0 and counts["purchases"] > 0
    assert outcome.progress.fetched == sum(counts.values()) == outcome.progress.created
    shop.refresh_from_db()
    assert shop.last_sync["state"] == "completed"
    state = json.loads(shop.cursor)
    assert {item["stream"]["stream_descriptor"]["name"] for item in state} == {
        "users",
        "purchases",
        "products",
    }
    assert beats and all("records fetched" in beat[0] for beat in beats)
    # Records per stream, as the run page shows them live and the integration keeps them.
    assert outcome.progress.streams == counts == shop.last_sync["streams"]
    assert f"users {counts['users']}" in beats[-1][0]

    again, _ = sync(shop)  # always_updated off: the state says everything was read
    assert again.progress.fetched == 0
    assert raw_counts(shop) == counts


def test_faker_records_normalize_into_customers_with_their_shop_activity(shop):
    sync(shop)
    normalized = platform_records_normalize(
        organization_id=shop.client.organization_id, client_id=shop.client_id, platform="hubspot"
    )
    assert normalized.mapped and normalized.created == normalized.customers == 300
    customers = SyncedRecord.objects.filter(client=shop.client, platform="hubspot")
    users = {
        str(row.data["id"]): row.data["email"]
        for row in RawRecord.objects.filter(integration=shop, stream="users")
    }
    assert {c.external_id: c.email for c in customers} == users
    purchases = [row.data for row in RawRecord.objects.filter(integration=shop, stream="purchases")]
    orders_of = {}
    for purchase in purchases:
        orders_of[str(purchase["user_id"])] = orders_of.get(str(purchase["user_id"]), 0) + 1
    assert {c.external_id: c.sessions for c in customers} == {
        user: orders_of.get(user, 0) for user in users
    }
    assert customers.filter(spend__gt=0).exists() and customers.filter(churned=True).exists()

    again = platform_records_normalize(
        organization_id=shop.client.organization_id, client_id=shop.client_id, platform="hubspot"
    )
    assert (again.created, again.updated, again.customers) == (0, 300, 300)


MANIFEST = yaml.safe_load(
    (Path(__file__).resolve().parent.parent / "fixtures" / "paged_source_manifest.yaml").read_text()
)
TOKEN = "tok-declarative-secret"


def declarative_config(source: PagedSource, **overrides) -> dict:
    return config_validated(
        "declarative",
        {
            "__injected_declarative_manifest": MANIFEST,
            "url_base": source.url.rsplit("/", 1)[0],
            "api_token": TOKEN,
            "start_date": "2026-01-01T00:00:00Z",
            "end_date": "2026-01-05T23:59:59Z",
            **overrides,
        },
    )


def test_a_declarative_source_reads_day_windows_and_the_next_sync_continues_from_its_state(
    shop,
):
    served = source_records(100)
    with PagedSource(served) as source:
        shop.connector, shop.config = "declarative", declarative_config(source)
        shop.save()
        first, _ = sync(shop)
        platform_records_normalize(
            organization_id=shop.client.organization_id,
            client_id=shop.client_id,
            platform="hubspot",
        )
        read_first = len(source.requests)
        second, _ = sync(shop)

    assert first.progress.fetched == 100 and first.progress.created == 100
    assert {r.authorization for r in source.requests} == {f"Bearer {TOKEN}"}
    # The second read starts at the committed state: the last window's last record.
    assert {r.since for r in source.requests[read_first:]} == {"2026-01-05T00:19:00Z"}
    assert second.progress.fetched == 1 and second.progress.created == 0
    stored = {
        c.external_id: (c.email, c.sessions, c.churned)
        for c in SyncedRecord.objects.filter(client=shop.client)
    }
    assert stored == {r["id"]: (r["email"], r["sessions"], r["churned"]) for r in served}


def test_a_connectors_config_error_fails_the_sync_at_once_with_its_message(shop, client, users):
    run = WorkflowRun.objects.create(
        organization=shop.client.organization,
        workflow_type="platform-sync",
        workflow_id="platform-sync-config-error",
        input={"client_id": shop.client_id, "platform": shop.platform},
        status="FAILED",
    )
    with PagedSource(source_records(10), faults={None: ["401"] * 20}) as source:
        shop.connector, shop.config = "declarative", declarative_config(source)
        shop.save()
        with pytest.raises(ConnectorFailure) as failed:
            sync(shop, run_pk=str(run.pk))
    # What the connector said is kept on the run, secrets masked, and shown on its page.
    (log,) = ConnectorLog.objects.filter(run=run, integration=shop)
    assert log.lines and len(log.lines) <= 40
    assert any("401" in line or "nauthorized" in line for line in log.lines), log.lines
    assert not [line for line in log.lines if TOKEN in line]
    client.force_login(users["acme-manager"])
    page = client.get(f"/admin/orchestration/workflowrun/{run.pk}/change/").content.decode()
    assert "Connector log" in page and TOKEN not in page
    shop.refresh_from_db()
    assert shop.last_sync["state"] == "failed"
    assert shop.last_sync["error"] == str(failed.value)
    assert "401" in str(failed.value) or "nauthorized" in str(failed.value)
    assert TOKEN not in str(failed.value)
    windows = [request.since for request in source.requests]
    assert len(windows) == len(set(windows)), "a config error is not retried"
    assert str(failed.value).startswith("declarative failed: Unauthorized")


def test_secret_settings_are_sealed_never_shown_and_kept_by_their_mask(api, shop):
    url = f"/api/platform/integrations/{shop.pk}"
    token = "pat-na1-a-very-secret-token"
    settings = {
        "connector": "hubspot",
        "config": {
            "credentials": {"credentials_title": "Private App Credentials", "access_token": token},
            "start_date": "2026-01-01T00:00:00Z",
        },
    }
    saved = api("acme-manager").patch(url, settings, format="json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["config"]["credentials"]["access_token"] == MASK
    shop.refresh_from_db()
    assert token not in json.dumps(shop.config)
    assert token not in json.dumps(
        list(AuditEvent.objects.filter(action="integration.configure").values("payload"))
    )
    assert integration_opened(shop)[0]["credentials"]["access_token"] == token

    # Given back masked (as the API and the admin show it), the stored token stays.
    settings["config"]["credentials"]["access_token"] = MASK
    settings["config"]["start_date"] = "2026-02-01T00:00:00Z"
    kept = api("acme-manager").patch(url, settings, format="json")
    assert kept.status_code == 200, kept.content
    shop.refresh_from_db()
    config, _ = integration_opened(shop)
    assert config["credentials"]["access_token"] == token
    assert config["start_date"] == "2026-02-01T00:00:00Z"

    # Another connector's form can't keep a secret it never had.
    api("acme-manager").patch(url, {"connector": "faker", "config": {}}, format="json")
    refused = api("acme-manager").patch(url, settings, format="json")
    assert refused.status_code == 400
    assert refused.json()["config"] == {
        "credentials/access_token": ["No value is stored for this secret: enter it."]
    }
