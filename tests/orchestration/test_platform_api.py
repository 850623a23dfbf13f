"""The platform API: clients and integrations, scoped to the caller's organizations; an
integration's connector, settings and credentials set by managers and admins only, validated
field by field, audited without the secret, and the secret never answered or logged."""

import logging

import pytest

from orchestration.models import AuditEvent, Client, Integration, SyncedRecord
from orchestration.platform.credentials import credentials_open
from orchestration.platform.sync import platform_records_sync
from tests.paged_source import PagedSource, source_records

SECRET = "Bearer very-secret-token"
HTTP_JSON = {
    "connector": "http-json",
    "config": {"url": "https://api.example.com/customers", "page_size": 50},
    "credentials": {"header": "Authorization", "value": SECRET},
}


@pytest.fixture
def integration(orgs):
    client = Client.objects.create(
        organization=orgs["acme"], name="Acme client", email="c@acme.example", status="active"
    )
    return Integration.objects.create(client=client, platform="hubspot", cursor="200")


def url(integration) -> str:
    return f"/api/platform/integrations/{integration.pk}"


def test_clients_list_only_the_callers_organizations_with_their_integrations(
    api, integration, orgs
):
    Client.objects.create(organization=orgs["globex"], name="Globex client", email="g@x.example")
    answer = api("acme-viewer").get("/api/platform/clients")
    assert answer.status_code == 200
    [client] = answer.json()["results"]
    assert client["name"] == "Acme client" and client["organization"] == "acme"
    assert [i["platform"] for i in client["integrations"]] == ["hubspot"]
    assert client["integrations"][0]["connector"] == "demo"
    detail = api("acme-viewer").get(f"/api/platform/clients/{integration.client_id}")
    assert detail.status_code == 200 and detail.json()["id"] == integration.client_id
    assert (
        api("globex-manager").get(f"/api/platform/clients/{integration.client_id}").status_code
        == 404
    )
    assert api("globex-manager").get(url(integration)).status_code == 404
    assert api().get("/api/platform/clients").status_code == 401


def test_a_manager_configures_http_json_and_the_secret_goes_nowhere(api, integration, caplog):
    caplog.set_level(logging.DEBUG)
    answer = api("acme-manager").patch(url(integration), HTTP_JSON, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["connector"] == "http-json"
    assert body["config"]["url"] == HTTP_JSON["config"]["url"]
    assert body["config"]["cursor_param"] == "cursor"  # defaults filled in
    assert body["credentials"] == {"set": True, "header": "Authorization"}
    assert body["cursor"] == ""  # a new source starts from the beginning
    integration.refresh_from_db()
    assert SECRET not in integration.credentials
    assert credentials_open(integration.pk, integration.credentials)["value"] == SECRET
    event = AuditEvent.objects.get(action="integration.configure")
    assert event.actor.username == "acme-manager" and event.organization.slug == "acme"
    assert event.payload["credentials"] == "replaced" and event.payload["cursor_reset"] is True
    everything = answer.content.decode() + str(event.payload) + caplog.text
    assert "very-secret-token" not in everything
    assert "very-secret-token" not in api("acme-viewer").get(url(integration)).content.decode()

    # Changing the page size keeps the credentials; null removes them.
    kept = api("acme-admin").patch(
        url(integration), {"config": {**HTTP_JSON["config"], "page_size": 10}}, format="json"
    )
    assert kept.status_code == 200 and kept.json()["credentials"]["set"] is True
    removed = api("acme-admin").patch(url(integration), {"credentials": None}, format="json")
    assert removed.json()["credentials"] == {"set": False, "header": None}
    assert [
        e.payload["credentials"]
        for e in AuditEvent.objects.filter(action="integration.configure").order_by("id")
    ] == [
        "replaced",
        "kept",
        "removed",
    ]


@pytest.mark.parametrize("username", ["acme-viewer", "acme-operator"])
def test_only_managers_and_admins_configure(api, integration, username):
    answer = api(username).patch(url(integration), HTTP_JSON, format="json")
    assert answer.status_code == 403
    integration.refresh_from_db()
    assert integration.connector == "demo"
    assert not AuditEvent.objects.filter(action="integration.configure").exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"connector": "ftp"}, {"connector"}),
        ({"connector": "http-json", "config": {"url": "ftp://x.example"}}, {"config"}),
        ({"connector": "http-json", "config": {}}, {"config"}),
        (
            {"connector": "http-json", "config": {"url": "https://x.example", "page_size": 0}},
            {"config"},
        ),
        ({"connector": "http-json", "config": [1, 2]}, {"config"}),
        ({"config": {"customers": -1}}, {"config"}),
        ({"credentials": {"header": "Authorization", "value": "x"}}, {"credentials"}),  # demo
        ({**HTTP_JSON, "credentials": {"header": "Bad Header:"}}, {"credentials"}),
        ({**HTTP_JSON, "credentials": {"header": "X-Key", "value": "a\r\nb"}}, {"credentials"}),
        ({**HTTP_JSON, "credentials": "secret"}, {"credentials"}),
    ],
)
def test_bad_settings_are_400_with_field_errors_and_change_nothing(api, integration, body, errors):
    answer = api("acme-manager").patch(url(integration), body, format="json")
    assert answer.status_code == 400, answer.content
    assert set(answer.json()) == errors
    integration.refresh_from_db()
    assert (integration.connector, integration.cursor) == ("demo", "200")
    assert not AuditEvent.objects.filter(action="integration.configure").exists()


def test_the_config_errors_name_the_configs_field(api, integration):
    body = {"connector": "http-json", "config": {"url": "https://x.example", "page_size": 5000}}
    answer = api("acme-manager").patch(url(integration), body, format="json")
    assert "page_size" in answer.json()["config"]


def test_the_platform_endpoints_are_in_the_schema(api):
    paths = api("acme-viewer").get("/api/schema", HTTP_ACCEPT="application/json").json()["paths"]
    assert {"get", "patch"} <= set(paths["/api/platform/integrations/{id}"])
    assert "/api/platform/clients" in paths and "/api/platform/clients/{id}" in paths


def test_a_switched_connector_leaves_no_records_of_the_old_source_among_the_new(
    api, integration, orgs
):
    """Switching the demo integration to another source used to keep the demo's 200
    customers beside the new source's (450 where the source had 250)."""
    platform_records_sync(
        organization_id=orgs["acme"].pk,
        client_id=integration.client_id,
        platform=integration.platform,
        heartbeat=lambda *progress: None,
        full=True,  # the fixture's cursor is at the demo's end
    )
    assert SyncedRecord.objects.filter(client=integration.client).count() == 200
    other = SyncedRecord.objects.create(
        client=integration.client,
        platform="ga4",
        external_id="ga4-1",
        email="x@y.example",
        sessions=1,
        spend=0,
        days_since_last_activity=1,
        support_tickets=0,
        churned=False,
    )
    served = source_records(25)
    with PagedSource(served) as source:
        config = {"url": source.url, "page_size": 10}
        answer = api("acme-manager").patch(
            url(integration), {"connector": "http-json", "config": config}, format="json"
        )
        assert answer.status_code == 200, answer.content
        assert answer.json()["records"] == 0
        assert (answer.json()["last_sync"], answer.json()["last_synced_at"]) == ({}, None)
        event = AuditEvent.objects.get(action="integration.configure")
        assert event.payload["records_removed"] == 200
        outcome = platform_records_sync(
            organization_id=orgs["acme"].pk,
            client_id=integration.client_id,
            platform=integration.platform,
            heartbeat=lambda *progress: None,
        )
    assert outcome.records == 25
    assert set(
        SyncedRecord.objects.filter(client=integration.client, platform="hubspot").values_list(
            "external_id", flat=True
        )
    ) == {record["id"] for record in served}
    assert SyncedRecord.objects.filter(pk=other.pk).exists()  # another platform's stay

    # The same connector with other settings keeps what it read.
    kept = api("acme-manager").patch(
        url(integration), {"config": {**config, "page_size": 20}}, format="json"
    )
    assert kept.json()["records"] == 25
    last = AuditEvent.objects.filter(action="integration.configure").latest("id")
    assert last.payload["records_removed"] == 0
