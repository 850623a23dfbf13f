"""Streams come from the connector's `discover`: `GET /api/platform/integrations/{id}/streams`
lists what the real faker connector offers, which the syncs read and how; a PATCH chooses
streams and their sync mode (validated, audited), and the next sync reads them that way; the
streams normalization reads can't be left out; a stream the source doesn't offer fails the
sync naming it. Managers and admins only; another organization's integration is 404."""

import pytest

from orchestration.models import AuditEvent, Client, Integration
from orchestration.platform.connectors import ConnectorFailure, config_validated
from tests.orchestration.test_airbyte_sync import raw_counts, sync


@pytest.fixture
def shop(orgs):
    client = Client.objects.create(
        organization=orgs["acme"], name="Streams", email="streams@acme.example", status="active"
    )
    return Integration.objects.create(
        client=client,
        platform="ga4",
        connector="faker",
        config=config_validated(
            "faker", {"count": 50, "seed": 3, "always_updated": False, "parallelism": 1}
        ),
    )


def url(integration, tail: str = "") -> str:
    return f"/api/platform/integrations/{integration.pk}{tail}"


def test_the_sources_streams_are_listed_with_how_the_syncs_read_them(api, shop, orgs):
    answer = api("acme-manager").get(url(shop, "/streams"))
    assert answer.status_code == 200, answer.content
    streams = {stream["name"]: stream for stream in answer.json()["streams"]}
    assert set(streams) == {"users", "purchases", "products"}
    for stream in streams.values():
        assert stream["sync_modes"] == ["incremental", "full_refresh"]
        assert stream["chosen"] and stream["sync_mode"] == "incremental"
        assert stream["normalization_reads"] and stream["primary_key"] == [["id"]]

    assert api("acme-viewer").get(url(shop, "/streams")).status_code == 403
    assert api("globex-manager").get(url(shop, "/streams")).status_code == 404
    demo = Integration.objects.create(client=shop.client, platform="hubspot")
    refused = api("acme-manager").get(url(demo, "/streams"))
    assert refused.status_code == 400 and "connector" in refused.json()


def test_a_chosen_sync_mode_is_validated_audited_and_read_that_way(api, shop):
    manager = api("acme-manager")
    sync(shop)
    first = raw_counts(shop)

    bad = manager.patch(url(shop), {"streams": {"products": "sometimes"}}, format="json")
    assert bad.status_code == 400 and "products" in bad.json()["streams"]
    not_a_map = manager.patch(url(shop), {"streams": ["products"]}, format="json")
    assert not_a_map.status_code == 400 and "streams" in not_a_map.json()

    chosen = manager.patch(url(shop), {"streams": {"products": "full_refresh"}}, format="json")
    assert chosen.status_code == 200, chosen.content
    assert chosen.json()["streams"] == {"products": "full_refresh"}
    event = AuditEvent.objects.filter(action="integration.configure").latest("created_at")
    assert event.payload["streams"] == {"products": "full_refresh"}
    listed = {s["name"]: s for s in manager.get(url(shop, "/streams")).json()["streams"]}
    assert listed["products"]["sync_mode"] == "full_refresh"
    assert listed["users"]["sync_mode"] == "incremental"

    # The next sync continues users and purchases from their state (nothing new) and reads
    # every product again.
    again, _ = sync(shop)
    assert again.progress.streams == {"products": first["products"]}
    assert raw_counts(shop) == first


def test_a_stream_the_source_doesnt_offer_fails_the_sync_naming_it(api, shop):
    saved = api("acme-manager").patch(
        url(shop), {"streams": {"orders": "incremental"}}, format="json"
    )
    assert saved.status_code == 200
    with pytest.raises(ConnectorFailure, match="offers no stream named orders"):
        sync(shop)


def test_the_console_own_connectors_have_no_streams_to_choose(api, shop):
    answer = api("acme-manager").patch(
        url(shop),
        {"connector": "demo", "config": {}, "streams": {"a": "incremental"}},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["streams"] == ["The demo connector has no streams to choose."]
    switched = api("acme-manager").patch(
        url(shop), {"connector": "demo", "config": {}}, format="json"
    )
    assert switched.status_code == 200 and switched.json()["streams"] == {}
