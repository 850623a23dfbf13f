"""The integration's admin page: managers and admins set its connector, settings and
credentials through the same validation and service as the API; others see it read-only;
the credential is never shown back."""

import json

import pytest

from orchestration.models import AuditEvent, Client, Integration, SyncedRecord
from orchestration.platform.airbyte.secrets import MASK
from orchestration.platform.credentials import credentials_open, integration_opened
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


def test_an_airbyte_connectors_settings_are_a_form_made_from_its_spec(client, users, integration):
    client.force_login(users["acme-manager"])
    switched = client.post(page(integration), {"connector": "faker", "config": ""})
    assert switched.status_code == 302, switched.content.decode()[:2000]
    integration.refresh_from_db()
    assert integration.connector == "faker" and integration.config["count"] == 1000

    shown = client.get(page(integration)).content.decode()
    for setting in ("count", "seed", "records_per_slice", "always_updated", "parallelism"):
        assert f'name="setting__{setting}"' in shown
    assert "Test connection" in shown

    saved = client.post(
        page(integration),
        {
            "connector": "faker",
            "setting__count": "250",
            "setting__seed": "7",
            "setting__records_per_slice": "50",
            "setting__parallelism": "1",
            "config": "",
        },
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    integration.refresh_from_db()
    assert integration.config == {
        "count": 250,
        "seed": 7,
        "records_per_slice": 50,
        "parallelism": 1,
        "always_updated": False,
    }

    refused = client.post(
        page(integration),
        {"connector": "faker", "setting__count": "0", "setting__parallelism": "1", "config": ""},
    )
    assert refused.status_code == 200
    assert "Ensure this value is greater than or equal to 1." in refused.content.decode()


def test_a_secret_setting_is_a_password_input_never_shown_and_kept_when_left_empty(
    client, users, integration
):
    client.force_login(users["acme-manager"])
    client.post(
        page(integration),
        {
            "connector": "youtube-analytics",
            "config": (
                '{"credentials": {"client_id": "cid", "client_secret": "cs-secret-1",'
                ' "refresh_token": "rt-secret-2"}}'
            ),
        },
    )
    integration.refresh_from_db()
    assert integration.connector == "youtube-analytics", integration.last_sync
    shown = client.get(page(integration)).content.decode()
    assert "cs-secret-1" not in shown and "rt-secret-2" not in shown
    assert "its secret settings, sealed" in shown
    kept = client.post(
        page(integration),
        {
            "connector": "youtube-analytics",
            "setting__credentials": json.dumps(
                {"client_id": "cid2", "client_secret": MASK, "refresh_token": MASK}
            ),
            "config": "",
        },
    )
    assert kept.status_code == 302, kept.content.decode()[:2000]
    integration.refresh_from_db()
    config, _ = integration_opened(integration)
    assert config["credentials"] == {
        "client_id": "cid2",
        "client_secret": "cs-secret-1",
        "refresh_token": "rt-secret-2",
    }


def test_test_connection_answers_on_the_integrations_page(client, users, integration):
    client.force_login(users["acme-manager"])
    client.post(page(integration), {"connector": "faker", "config": '{"count": 5}'})
    checked = client.post(f"/admin/orchestration/integration/{integration.pk}/check/", follow=True)
    assert "Test connection succeeded" in checked.content.decode()
    client.force_login(users["acme-viewer"])
    denied = client.post(f"/admin/orchestration/integration/{integration.pk}/check/", follow=True)
    assert "Test connection succeeded" not in denied.content.decode()


def test_a_webhook_set_up_in_the_admin_shows_its_address_and_secret_once(
    client, users, integration
):
    client.force_login(users["acme-manager"])
    controls = client.get(page(integration)).content.decode()
    assert 'value="omnify"' in controls and 'name="webhook_app_secret"' in controls
    hook = f"/admin/orchestration/integration/{integration.pk}/webhook/"

    shown = client.post(hook, {"webhook": "omnify"})
    assert shown.status_code == 200 and "no-store" in shown["Cache-Control"]
    integration.refresh_from_db()
    secret = credentials_open(integration.pk, integration.webhook_secret)["webhook_secret"]
    text = shown.content.decode()
    assert secret in text and f"/api/platform/webhooks/{integration.webhook_id}" in text
    again = client.get(page(integration)).content.decode()
    assert secret not in again and integration.webhook_id not in again
    assert "Deliveries accepted, signed the omnify way" in again

    missing = client.post(hook, {"webhook": "hubspot"}, follow=True).content.decode()
    assert "enter it" in missing
    hubspot = client.post(hook, {"webhook": "hubspot", "webhook_app_secret": "app-secret-1"})
    assert "app-secret-1" not in hubspot.content.decode()  # HubSpot's secret: never shown
    integration.refresh_from_db()
    assert integration.webhook_scheme == "hubspot"

    client.force_login(users["acme-viewer"])
    denied = client.post(hook, {"webhook": "remove"}, follow=True)
    assert "Remove" not in client.get(page(integration)).content.decode()
    integration.refresh_from_db()
    assert integration.webhook_id is not None and denied.status_code == 200
    client.force_login(users["acme-admin"])
    client.post(hook, {"webhook": "remove"})
    integration.refresh_from_db()
    assert integration.webhook_id is None
    assert AuditEvent.objects.filter(action__startswith="integration.webhook_").count() == 3


def test_streams_are_listed_from_the_source_and_chosen_on_the_integrations_page(
    client, users, integration
):
    client.force_login(users["acme-manager"])
    client.post(page(integration), {"connector": "faker", "config": '{"count": 5}'})
    listed = client.post(
        f"/admin/orchestration/integration/{integration.pk}/streams/", follow=True
    ).content.decode()
    assert "offers 3 streams" in listed
    assert "<code>users</code> (incremental or full_refresh; read incremental)" in listed

    base = {"connector": "faker", "setting__count": "5", "setting__parallelism": "1"}
    chosen = client.post(page(integration), {**base, "streams": '{"products": "full_refresh"}'})
    assert chosen.status_code == 302, chosen.content.decode()[:2000]
    integration.refresh_from_db()
    assert integration.streams == {"products": "full_refresh"}
    refused = client.post(page(integration), {**base, "streams": '{"products": "often"}'})
    assert refused.status_code == 200 and "is not a valid choice" in refused.content.decode()
