"""Tenant data stays encrypted in Temporal: inputs, results and failures are ciphertext in
the raw history, the console still reads them, and the codec endpoint decodes them only for
those who may see the organization's runs."""

import asyncio
import base64
import json
import subprocess

import pytest
from django.conf import settings
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from orchestration.models import AuditEvent
from orchestration.temporal.codec import (
    ENCODING,
    ORGANIZATION,
    EncryptionCodec,
    PayloadKeyError,
    PayloadKeys,
)
from orchestration.temporal.devserver import temporal_binary
from orchestration.temporal.workflow_ids import organization_of, workflow_id_for
from tests.support import api_token, wait_for_status

DONE = {"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}
DECODE = "/api/temporal/codec/decode"
OLD_KEY = "old=" + base64.b64encode(b"o" * 32).decode()
NEW_KEY = "new=" + base64.b64encode(b"n" * 32).decode()


def plain(value) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


def run_async(coroutine):
    return asyncio.run(coroutine)


# --- the codec --------------------------------------------------------------------------------
def test_a_payload_is_ciphertext_naming_its_key_and_organization():
    codec = EncryptionCodec(PayloadKeys.parse(NEW_KEY), organization="7")
    [sealed] = run_async(codec.encode([plain({"email": "ops@initech.example"})]))
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata["encryption-key-id"] == b"new"
    assert sealed.metadata[ORGANIZATION] == b"7"
    assert b"initech" not in sealed.data
    assert run_async(codec.decode([sealed])) == [plain({"email": "ops@initech.example"})]


def test_a_payload_written_with_the_old_key_decodes_after_rotation():
    [sealed] = run_async(EncryptionCodec(PayloadKeys.parse(OLD_KEY), "7").encode([plain(1)]))
    rotated = EncryptionCodec(PayloadKeys.parse(f"{NEW_KEY},{OLD_KEY}"))
    assert rotated.keys.current == "new"
    assert run_async(rotated.decode([sealed])) == [plain(1)]
    [resealed] = run_async(EncryptionCodec(rotated.keys, "7").encode([plain(1)]))
    assert resealed.metadata["encryption-key-id"] == b"new"
    with pytest.raises(PayloadKeyError, match="No payload key 'old'"):
        run_async(EncryptionCodec(PayloadKeys.parse(NEW_KEY)).decode([sealed]))


def test_a_payload_whose_organization_was_changed_does_not_open():
    [sealed] = run_async(EncryptionCodec(PayloadKeys.parse(NEW_KEY), "7").encode([plain(1)]))
    sealed.metadata[ORGANIZATION] = b"8"
    with pytest.raises(PayloadKeyError, match="tampered"):
        run_async(EncryptionCodec(PayloadKeys.parse(NEW_KEY)).decode([sealed]))


def test_a_payload_from_before_encryption_reads_as_it_was():
    codec = EncryptionCodec(PayloadKeys.parse(NEW_KEY))
    assert run_async(codec.decode([plain({"a": 1})])) == [plain({"a": 1})]


@pytest.mark.parametrize(
    ("keys", "complaint"),
    [
        ("", "No payload key"),
        ("k1", "id=base64key"),
        ("k1=!!!", "not base64"),
        ("k1=" + base64.b64encode(b"short").decode(), "AES-256 needs 32"),
    ],
)
def test_bad_keys_are_refused_with_a_reason(keys, complaint):
    with pytest.raises(ValueError, match=complaint):
        PayloadKeys.parse(keys)


def test_workflow_ids_name_the_organization_by_id_only():
    workflow_id = workflow_id_for("platform-sync", 12, "0b0f4c2e-8d3a-4a55-9f1e-2c6f3b1a9d77")
    assert workflow_id == "platform-sync-12-0b0f4c2e-8d3a-4a55-9f1e-2c6f3b1a9d77"
    assert organization_of(workflow_id) == "12"
    assert organization_of("platform-sync-0b0f4c2e-8d3a-4a55-9f1e-2c6f3b1a9d77") is None
    assert organization_of("omnify-reconcile-runs-omnify-console") is None


# --- against the suite's Temporal server ------------------------------------------------------
async def _raw_history(workflow_id: str):
    """The history as Temporal stores it: a client without the console's codec."""
    client = await Client.connect(settings.TEMPORAL_ADDRESS)
    return await client.get_workflow_handle(workflow_id).fetch_history()


def _event(history, attribute: str):
    return next(getattr(event, attribute) for event in history.events if event.HasField(attribute))


def _as_json(payload: Payload) -> dict:
    return {
        "metadata": {
            key: base64.b64encode(value).decode() for key, value in payload.metadata.items()
        },
        "data": base64.b64encode(payload.data).decode(),
    }


ONBOARDING = {
    "organization": "acme",
    "client": {"name": "Initech", "email": "ops@initech.example", "platforms": ["ga4"]},
}


@pytest.mark.temporal
def test_temporal_stores_ciphertext_and_the_console_reads_it(live, api, orgs):
    response = api("acme-operator").post(
        "/api/temporal/workflows/client-onboarding", ONBOARDING, format="json"
    )
    run = wait_for_status(response.json()["workflow_id"], DONE)
    assert run.status == "COMPLETED", run.error
    assert organization_of(run.workflow_id) == str(orgs["acme"].pk)

    history = run_async(_raw_history(run.workflow_id))
    [start] = _event(history, "workflow_execution_started_event_attributes").input.payloads
    [result] = _event(history, "workflow_execution_completed_event_attributes").result.payloads
    for payload in (start, result):
        assert payload.metadata["encoding"] == ENCODING
        assert payload.metadata[ORGANIZATION] == str(orgs["acme"].pk).encode()
    assert b"initech" not in start.data.lower()
    assert b"Initech" not in history.to_json().encode()

    status = api("acme-viewer").get(f"/api/temporal/workflows/{run.workflow_id}/status").json()
    assert status["input"]["email"] == "ops@initech.example"
    assert status["result"]["client_id"] == run.result["client_id"]

    # The codec endpoint: acme's viewer may read acme's payloads; nobody else may.
    body = {"payloads": [_as_json(start), _as_json(result)]}
    decoded = api("acme-viewer").post(DECODE, body, format="json", HTTP_X_NAMESPACE="default")
    assert decoded.status_code == 200
    [start_json, result_json] = [
        json.loads(base64.b64decode(item["data"])) for item in decoded.json()["payloads"]
    ]
    assert start_json["email"] == "ops@initech.example"
    assert start_json["organization_id"] == orgs["acme"].pk
    assert result_json["client_id"] == run.result["client_id"]
    event = AuditEvent.objects.get(action="temporal.payloads_decoded")
    assert (event.actor_username, event.organization, event.payload["payloads"]) == (
        "acme-viewer",
        orgs["acme"],
        2,
    )
    assert api("globex-manager").post(DECODE, body, format="json").status_code == 403
    assert api().post(DECODE, body, format="json").status_code == 401
    assert AuditEvent.objects.filter(action="temporal.payloads_decoded").count() == 1


@pytest.mark.temporal
def test_failure_messages_are_encrypted_and_read_back_in_the_history(live, api, demo_client):
    body = {**ONBOARDING, "client": {**ONBOARDING["client"], "email": "demo@acme.example"}}
    response = api("acme-operator").post(
        "/api/temporal/workflows/client-onboarding", body, format="json"
    )
    run = wait_for_status(response.json()["workflow_id"], DONE)
    assert run.status == "FAILED"
    raw = run_async(_raw_history(run.workflow_id)).to_json()
    assert "demo@acme.example" not in raw and "already exists" not in raw
    events = api("acme-viewer").get(f"/api/temporal/workflows/{run.workflow_id}/history").json()
    failures = [event["failure"] for event in events["events"] if event["failure"]]
    assert failures and all("already exists in Acme Corp" in failure for failure in failures)


@pytest.mark.django_db
def test_the_codec_endpoint_refuses_what_it_cant_decode(api):
    viewer = api("acme-viewer")
    assert viewer.post(DECODE, {"payloads": "x"}, format="json").status_code == 400
    bad = {"payloads": [{"metadata": {"encoding": "!!"}, "data": ""}]}
    assert viewer.post(DECODE, bad, format="json").status_code == 400
    # Ciphertext no configured key opens.
    [foreign] = run_async(EncryptionCodec(PayloadKeys.parse(OLD_KEY)).encode([plain(1)]))
    response = viewer.post(DECODE, {"payloads": [_as_json(foreign)]}, format="json")
    assert response.status_code == 403  # it names no organization: superusers only
    assert not AuditEvent.objects.filter(action="temporal.payloads_decoded").exists()


@pytest.mark.django_db
def test_only_the_temporal_ui_origin_may_call_the_codec_endpoint_from_a_browser(client):
    origin = settings.TEMPORAL_UI_URL.rstrip("/")
    preflight = client.options(
        DECODE,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-namespace",
    )
    assert preflight["Access-Control-Allow-Origin"] == origin
    assert preflight["Access-Control-Allow-Credentials"] == "true"
    elsewhere = client.options(
        DECODE, HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in elsewhere
    other_path = client.options(
        "/api/temporal/workflows", HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert "Access-Control-Allow-Origin" not in other_path


@pytest.mark.temporal
def test_the_temporal_cli_reads_payloads_through_the_codec_endpoint(live, api, users, web_server):
    """The remote-codec protocol as Temporal's own tools speak it, against the web server
    `make run` starts: the CLI shows the input with the console's codec, ciphertext without."""
    response = api("acme-operator").post(
        "/api/temporal/workflows/client-onboarding", ONBOARDING, format="json"
    )
    run = wait_for_status(response.json()["workflow_id"], DONE)
    show = [
        temporal_binary(),
        "workflow",
        "show",
        "-w",
        run.workflow_id,
        "--address",
        settings.TEMPORAL_ADDRESS,
        "-o",
        "json",
    ]
    codec = [
        "--codec-endpoint",
        f"{web_server}/api/temporal/codec",
        "--codec-auth",
        f"Token {api_token(users['acme-viewer'])}",
    ]
    decoded = subprocess.run([*show, *codec], capture_output=True, text=True, timeout=30)
    assert decoded.returncode == 0, decoded.stderr
    encoding, data = _started_input(decoded.stdout)
    assert encoding == b"json/plain" and json.loads(data)["email"] == "ops@initech.example"
    raw = subprocess.run(show, capture_output=True, text=True, timeout=30)
    assert _started_input(raw.stdout)[0] == ENCODING
    outsider = [*codec[:3], f"Token {api_token(users['globex-manager'])}"]
    refused = subprocess.run([*show, *outsider], capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0 or _started_input(refused.stdout)[0] == ENCODING


def _started_input(cli_json: str) -> tuple[bytes, bytes]:
    """The encoding and data of the workflow's input in `temporal workflow show -o json`."""
    started = json.loads(cli_json)["events"][0]["workflowExecutionStartedEventAttributes"]
    [payload] = started["input"]["payloads"]
    return base64.b64decode(payload["metadata"]["encoding"]), base64.b64decode(payload["data"])
