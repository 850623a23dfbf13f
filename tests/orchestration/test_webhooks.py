"""Webhooks for real-time updates (`/api/platform/webhooks/<id>`): managers and admins give an
integration a webhook (its secret shown once, sealed, audited without it); deliveries signed
HubSpot's v3 way or the console's own are accepted, and forged, unsigned, stale, replayed,
oversized or unaddressed ones answer 401/413/404 and start nothing; a burst of 100 signed
deliveries in 2 s, sent to the console's own server process, makes exactly one sync."""

import base64
import hashlib
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings as conf

from orchestration.models import AuditEvent, Client, Integration, WorkflowRun
from orchestration.platform.connectors import config_validated
from orchestration.temporal.bridge import reset_bridge
from orchestration.temporal.devserver import free_port
from tests.conftest import ARTIFACTS
from tests.support import WebServer, wait_for_status

BODY = json.dumps([{"objectId": 1001, "subscriptionType": "contact.propertyChange"}]).encode()


@pytest.fixture
def integration(orgs):
    client = Client.objects.create(
        organization=orgs["acme"], name="Hooked", email="hooked@acme.example", status="active"
    )
    return Integration.objects.create(
        client=client,
        platform="hubspot",
        connector="faker",
        config=config_validated("faker", {"count": 20}),
    )


def enable(api, integration, user="acme-manager", **body):
    return api(user).post(
        f"/api/platform/integrations/{integration.pk}/webhook",
        body or {"scheme": "omnify"},
        format="json",
    )


def omnify_headers(secret: str, body: bytes, at: float | None = None) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Omnify-Timestamp": stamp, "X-Omnify-Signature": f"sha256={digest}"}


def hubspot_headers(secret: str, url: str, body: bytes, at: float | None = None) -> dict:
    stamp = str(int((time.time() if at is None else at) * 1000))
    signed = b"POST" + url.encode() + body + stamp.encode()
    signature = base64.b64encode(hmac.digest(secret.encode(), signed, "sha256")).decode()
    return {"X-HubSpot-Request-Timestamp": stamp, "X-HubSpot-Signature-v3": signature}


def deliver(api_client, url: str, headers: dict, body: bytes = BODY):
    return api_client.post(
        url,
        body,
        content_type="application/json",
        headers=headers,
    )


def test_a_webhook_is_set_up_by_managers_its_secret_shown_once_sealed_and_audited(
    api, integration, orgs
):
    answer = enable(api, integration)
    assert answer.status_code == 201, answer.content
    setup = answer.json()
    secret, url = setup["secret"], setup["url"]
    assert setup["scheme"] == "omnify" and len(secret) >= 40
    assert url.startswith("http://testserver/api/platform/webhooks/")
    integration.refresh_from_db()
    assert secret not in integration.webhook_secret and url.endswith(integration.webhook_id)
    shown = api("acme-manager").get(f"/api/platform/integrations/{integration.pk}").json()
    assert secret not in json.dumps(shown) and integration.webhook_id not in json.dumps(shown)
    assert shown["webhook"] == {"enabled": True, "scheme": "omnify"}
    event = AuditEvent.objects.get(action="integration.webhook_enable")
    assert event.payload == {"integration": integration.pk, "scheme": "omnify"}
    assert secret not in json.dumps(event.payload)

    # A new webhook replaces the old: its address stops answering.
    again = enable(api, integration).json()
    assert again["url"] != url and again["secret"] != secret
    stale = deliver(api(None), url, omnify_headers(secret, BODY))
    assert stale.status_code == 404

    # Others may not; another organization's integration is not there at all.
    assert enable(api, integration, user="acme-viewer").status_code == 403
    assert enable(api, integration, user="globex-manager").status_code == 404
    hubspot = enable(api, integration, scheme="hubspot")
    assert hubspot.status_code == 400 and "app_secret" in hubspot.json()
    assert enable(api, integration, scheme="gitlab").status_code == 400

    removed = api("acme-admin").delete(f"/api/platform/integrations/{integration.pk}/webhook")
    assert removed.status_code == 204
    assert (
        deliver(api(None), again["url"], omnify_headers(again["secret"], BODY)).status_code == 404
    )
    assert AuditEvent.objects.filter(action="integration.webhook_disable").count() == 1


def test_forged_unsigned_stale_oversized_and_unaddressed_deliveries_start_nothing(api, integration):
    omnify = enable(api, integration).json()
    anyone = api(None)
    refused = {
        "unsigned": deliver(anyone, omnify["url"], {}),
        "forged": deliver(anyone, omnify["url"], omnify_headers("not-the-secret", BODY)),
        "stale": deliver(
            anyone, omnify["url"], omnify_headers(omnify["secret"], BODY, time.time() - 360)
        ),
        "another body": deliver(
            anyone, omnify["url"], omnify_headers(omnify["secret"], b"[]"), body=BODY
        ),
    }
    for case, answer in refused.items():
        assert answer.status_code == 401, (case, answer.content)
        assert answer.json()["code"] == "invalid_delivery"
    big = b"[" + b"0," * conf.OMNIFY_WEBHOOK_MAX_BYTES + b"0]"
    oversized = deliver(anyone, omnify["url"], omnify_headers(omnify["secret"], big), body=big)
    assert oversized.status_code == 413 and oversized.json()["code"] == "too_large"
    unknown = deliver(anyone, "/api/platform/webhooks/no-such-hook", {})
    assert unknown.status_code == 404

    hubspot = enable(api, integration, scheme="hubspot", app_secret="hubspot-app-secret").json()
    assert hubspot["secret"] is None  # HubSpot's own secret: not the console's to show
    url = hubspot["url"]
    forged = deliver(anyone, url, hubspot_headers("another-app", url, BODY))
    stale = deliver(
        anyone, url, hubspot_headers("hubspot-app-secret", url, BODY, time.time() - 400)
    )
    other_url = deliver(anyone, url, hubspot_headers("hubspot-app-secret", url + "x", BODY))
    assert [forged.status_code, stale.status_code, other_url.status_code] == [401, 401, 401]

    assert not WorkflowRun.objects.exists()
    assert not AuditEvent.objects.filter(action="integration.webhook_delivery").exists()


def test_signed_deliveries_join_one_sync_and_a_replay_is_refused(live, api, integration, settings):
    settings.OMNIFY_WEBHOOK_DEBOUNCE_SECONDS = 2
    omnify = enable(api, integration).json()
    headers = omnify_headers(omnify["secret"], BODY)
    first = deliver(api(None), omnify["url"], headers)
    assert first.status_code == 202, first.content
    assert deliver(api(None), omnify["url"], headers).status_code == 401  # the same, replayed
    second = deliver(
        api(None), omnify["url"], omnify_headers(omnify["secret"], b'{"n": 2}'), b'{"n": 2}'
    )
    assert second.json()["run"] == first.json()["run"]

    run = WorkflowRun.objects.get(workflow_id=first.json()["run"])
    assert run.workflow_type == "platform-sync" and run.started_by is None
    assert run.input == {"client_id": integration.client_id, "platform": "hubspot", "full": False}
    run = wait_for_status(run.workflow_id, {"COMPLETED"}, timeout=90)
    assert run.result["fetched"] > 0
    started = AuditEvent.objects.get(action="workflow.start", run=run)
    assert started.actor_username == "webhook (omnify)"
    deliveries = AuditEvent.objects.filter(action="integration.webhook_delivery")
    assert deliveries.count() == 2
    assert all(BODY.decode() not in json.dumps(event.payload) for event in deliveries)

    # After the sync began, a delivery starts the next one.
    later = deliver(api(None), omnify["url"], omnify_headers(omnify["secret"], b"{}"), b"{}")
    assert later.status_code == 202 and later.json()["run"] != run.workflow_id


def test_a_hundred_signed_deliveries_in_two_seconds_make_one_sync(live, api, integration):
    omnify = enable(api, integration).json()
    # The default debounce (10 s): the burst lands well inside it.
    server = WebServer(
        temporal_address=conf.TEMPORAL_ADDRESS,
        task_queue=conf.TEMPORAL_TASK_QUEUE,
        log=ARTIFACTS / "web-server.log",
    )
    try:
        path = omnify["url"].removeprefix("http://testserver")
        bodies = [json.dumps([{"objectId": n}]).encode() for n in range(100)]

        def send(body: bytes) -> httpx.Response:
            return httpx.post(
                server.url + path,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    **omnify_headers(omnify["secret"], body),
                },
                timeout=30,
            )

        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(send, bodies))
        elapsed = time.monotonic() - began
        forged = [
            httpx.post(server.url + path, content=body, headers=omnify_headers("forged", body))
            for body in bodies[:5]
        ]
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [202] * 100, answers[0].text
    runs = {a.json()["run"] for a in answers}
    assert len(runs) == 1, f"{len(runs)} syncs for a burst of 100 sent in {elapsed:.1f} s"
    assert [f.status_code for f in forged] == [401] * 5

    wait_for_status(runs.pop(), {"COMPLETED"}, timeout=120)
    assert WorkflowRun.objects.filter(workflow_type="platform-sync").count() == 1
    assert AuditEvent.objects.filter(action="integration.webhook_delivery").count() == 100


def test_a_delivery_turned_away_for_want_of_temporal_syncs_when_sent_again(
    live, api, integration, settings
):
    settings.OMNIFY_WEBHOOK_DEBOUNCE_SECONDS = 1
    omnify = enable(api, integration).json()
    headers = omnify_headers(omnify["secret"], BODY)
    address = settings.TEMPORAL_ADDRESS
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"  # nothing listens there
    reset_bridge()
    try:
        down = deliver(api(None), omnify["url"], headers)
    finally:
        settings.TEMPORAL_ADDRESS = address
        reset_bridge()
    assert down.status_code == 503 and down.json()["code"] == "temporal_unavailable"
    assert WorkflowRun.objects.get().status == "START_FAILED"  # a truthful row

    # The sender retries the very same delivery: not a replay, since it wasn't accepted.
    again = deliver(api(None), omnify["url"], headers)
    assert again.status_code == 202, again.content
    wait_for_status(again.json()["run"], {"COMPLETED"}, timeout=90)
