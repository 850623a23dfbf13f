"""The integration's admin page: managers and admins set its connector, settings and
credentials through the same validation and service as the API; others see it read-only;
the credential is never shown back."""

import pytest

from orchestration.models import AuditEvent, Client, Integration, SyncedRecord
from orchestration.platform.credentials import credentials_open
from orchestration.platform.sync import platform_records_sync

SECRET = "Bearer admin-form-secret"


@pytest.fixture
def integration(orgs):
    client = Client.objects.create(
        organization=orgs["acme"], name="Admin client", email="a@acme.example", status="active"
    )
    return Integration.objects.create(client=client, platform="ga4")


def page(integration) -> str:
    return f"/admin/orchestration/integration/{integration.pk}/change/"


def form(**fields) -> dict:
    return {
        "connector": "http-json",
        "config": '{"url": "https://api.example.com/customers", "page_size": 25}',
        "credentials_header": "X-Api-Key",
        "credentials_value": SECRET,
        **fields,
    }


def test_a_manager_configures_the_integration_from_its_page(client, users, integration):
    client.force_login(users["acme-manager"])
    shown = client.get(page(integration))
    assert shown.status_code == 200
    assert b'name="credentials_value"' in shown.content
    saved = client.post(page(integration), form())
    assert saved.status_code == 302, saved.content.decode()[:2000]
    integration.refresh_from_db()
    assert integration.connector == "http-json" and integration.config["page_size"] == 25
    assert credentials_open(integration.pk, integration.credentials) == {
        "header": "X-Api-Key",
        "value": SECRET,
    }
    event = AuditEvent.objects.get(action="integration.configure")
    assert event.payload["credentials_header"] == "X-Api-Key"
    again = client.get(page(integration)).content.decode()
    assert "admin-form-secret" not in again
    assert "sent as the X-Api-Key header" in again

    # An empty value keeps the stored one.
    client.post(page(integration), form(credentials_value=""))
    integration.refresh_from_db()
    assert credentials_open(integration.pk, integration.credentials)["value"] == SECRET


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"config": '{"url": "ftp://x.example"}'}, "url: Enter a valid URL."),
        ({"config": '{"url": "https://x.example", "page_size": 0}'}, "page_size"),
        ({"config": "{not json"}, "Enter a valid JSON."),
        ({"credentials_header": "Bad Header:"}, "header: Not an HTTP header name."),
    ],
)
def test_bad_settings_are_shown_on_the_form_and_nothing_changes(
    client, users, integration, fields, message
):
    client.force_login(users["acme-admin"])
    answer = client.post(page(integration), form(**fields))
    assert answer.status_code == 200
    assert message in answer.content.decode()
    integration.refresh_from_db()
    assert integration.connector == "demo" and not integration.credentials


def test_a_viewer_sees_the_integration_read_only(client, users, integration):
    client.force_login(users["acme-viewer"])
    shown = client.get(page(integration))
    assert shown.status_code == 200
    assert b'name="credentials_value"' not in shown.content
    assert client.post(page(integration), form()).status_code == 403
    integration.refresh_from_db()
    assert integration.connector == "demo"


def test_another_organizations_integration_is_not_found(client, users, integration):
    client.force_login(users["globex-manager"])
    assert client.get(page(integration)).status_code == 404


def test_switching_the_connector_says_what_it_removed(client, users, integration):
    platform_records_sync(
        organization_id=integration.client.organization_id,
        client_id=integration.client_id,
        platform=integration.platform,
        heartbeat=lambda *progress: None,
    )
    client.force_login(users["acme-manager"])
    saved = client.post(page(integration), form(), follow=True)
    messages = [str(message) for message in saved.context["messages"]]
    assert "200 records of the previous connector were removed" in " ".join(messages)
    assert not SyncedRecord.objects.filter(client=integration.client).exists()


def test_a_failed_sync_shows_as_failed_with_its_reason_and_when(client, users, integration):
    integration.last_sync = {
        "state": "failed",
        "error": "ConnectError reaching 127.0.0.1:9 after 6 tries.",
        "at": "2026-12-02T18:25:19.715192+00:00",
        "pages": 0,
    }
    integration.save()
    client.force_login(users["acme-viewer"])
    shown = client.get(page(integration)).content.decode()
    assert "<td>failed</td>" in shown
    assert "ConnectError reaching 127.0.0.1:9 after 6 tries." in shown
    assert "Dec. 2, 2026" in shown and "18:25:19.715192" not in shown
