"""Platform syncs through real Airbyte source connectors, run by real workers on the suite's
Temporal server: a faker shop of 10,000 users end to end into customers and a churn model;
a worker SIGKILLed mid-read resumes from the connector's last committed state (declarative
source against tests/paged_source.py) or reads again without doubling anything (faker); a
cancelled sync leaves no connector process behind."""

import json
import os
import time
import uuid
from pathlib import Path

import pytest
import yaml

from orchestration.models import Client, Integration, RawRecord, SyncedRecord
from orchestration.platform.connectors import config_validated
from tests.paged_source import PagedSource, source_records
from tests.support import kill, start_worker, temporal_says, wait_for_status

pytestmark = [pytest.mark.temporal, pytest.mark.faults]

MANIFEST = yaml.safe_load(
    (Path(__file__).resolve().parent.parent / "fixtures" / "paged_source_manifest.yaml").read_text()
)


def shop_integration(orgs, connector: str, config: dict) -> Integration:
    client = Client.objects.create(
        organization=orgs["acme"],
        name=f"Shop {uuid.uuid4().hex[:6]}",
        email=f"shop-{uuid.uuid4().hex[:6]}@acme.example",
        status="active",
    )
    return Integration.objects.create(
        client=client,
        platform="hubspot",
        connector=connector,
        config=config_validated(connector, config),
    )


def start_sync(api, integration) -> str:
    started = api("acme-operator").post(
        "/api/temporal/workflows/platform-sync",
        {"organization": "acme", "client": integration.client_id, "platform": "hubspot"},
        format="json",
    )
    assert started.status_code == 202, started.content
    return started.json()["workflow_id"]


def connector_processes(name: str) -> list[int]:
    """Live processes running the connector `name` from var/connectors."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ")
            with open(f"/proc/{pid}/stat") as stat:
                zombie = stat.read().split(") ", 1)[1].startswith("Z")
        except OSError:
            continue
        if f"connectors/{name}/bin/".encode() in command and not zombie:
            found.append(int(pid))
    return found


def raw_total(integration) -> int:
    return RawRecord.objects.filter(integration=integration).count()


def committed_state(integration) -> str | None:
    integration.refresh_from_db()
    return integration.last_sync.get("cursor")


def committed_since(integration) -> str:
    """Where the integration's committed state says the declarative source is up to."""
    state = json.loads(committed_state(integration) or "[]")
    return max((item["stream"]["stream_state"]["updated_at"] for item in state), default="")


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.2)
    return value


def test_a_faker_shop_of_10000_users_syncs_into_customers_and_a_churn_model(live, api, orgs):
    integration = shop_integration(
        orgs,
        "faker",
        {
            "count": 10000,
            "seed": 11,
            "records_per_slice": 1000,
            "always_updated": False,
            "parallelism": 1,
        },
    )
    workflow_id = start_sync(api, integration)
    run = wait_for_status(workflow_id, {"COMPLETED", "FAILED"}, timeout=600)
    assert run.status == "COMPLETED", run.error

    raw = RawRecord.objects.filter(integration=integration)
    assert raw.filter(stream="users").count() == 10000
    # Every record the connector emitted is one raw row: none doubled, none lost.
    assert raw.count() == run.result["fetched"] == run.result["created"]
    assert run.result["normalized"] and run.result["records"] == 10000
    customers = SyncedRecord.objects.filter(client=integration.client, platform="hubspot")
    assert customers.count() == 10000
    assert customers.filter(churned=True).exists() and customers.filter(churned=False).exists()

    retrain = api("acme-manager").post(
        "/api/temporal/workflows/eyes-retrain",
        {"organization": "acme", "model": "churn", "params": {"epochs": 20}},
        format="json",
    )
    assert retrain.status_code == 202, retrain.content
    trained = wait_for_status(retrain.json()["workflow_id"], {"COMPLETED", "FAILED"}, timeout=300)
    assert trained.status == "COMPLETED", trained.error
    assert trained.result["training_rows"] >= 10000


def test_a_declarative_sync_whose_worker_is_killed_resumes_from_the_committed_state(
    live, api, orgs, settings
):
    task_queue = f"omnify-airbyte-crash-{uuid.uuid4().hex[:8]}"
    settings.TEMPORAL_TASK_QUEUE = task_queue
    served = source_records(400)  # 20 days, two pages a day, each answered in 0.2 s
    first = second = None
    with PagedSource(served, delay=0.2) as source:
        integration = shop_integration(
            orgs,
            "declarative",
            {
                "__injected_declarative_manifest": MANIFEST,
                "url_base": source.url.rsplit("/", 1)[0],
                "api_token": "tok-crash",
                "start_date": "2026-01-01T00:00:00Z",
                "end_date": "2026-01-20T23:59:59Z",
            },
        )
        try:
            first = start_worker(live.address, task_queue)
            workflow_id = start_sync(api, integration)
            wait_for(
                lambda: committed_since(integration) >= "2026-01-04",
                60,
                "a state committed past the third day",
            )
            kill(first)
            committed = committed_state(integration)  # the last one: its worker is dead
            wait_for(lambda: not connector_processes("declarative"), 10, "the orphan to go")
            read_before = len(source.requests)
            second = start_worker(live.address, task_queue)
            run = wait_for_status(workflow_id, {"COMPLETED", "FAILED"}, timeout=180)
            if run.status == "COMPLETED":
                temporal_says(workflow_id, "COMPLETED")
        finally:
            for worker in (first, second):
                if worker is not None:
                    kill(worker)

    assert run.status == "COMPLETED", run.error
    resumed_from = min(request.since for request in source.requests[read_before:] if request.since)
    assert f'"updated_at": "{resumed_from}"' in committed, (resumed_from, committed)
    assert resumed_from > "2026-01-01T00:00:00Z", "the new worker started over"
    customers = {
        c.external_id: (c.email, c.sessions)
        for c in SyncedRecord.objects.filter(client=integration.client)
    }
    assert customers == {r["id"]: (r["email"], r["sessions"]) for r in served}
    assert RawRecord.objects.filter(integration=integration).count() == 400
    assert len(source.requests) < 2 * 40, "the new worker read everything again"


def test_a_faker_sync_read_again_after_its_worker_is_killed_doubles_nothing(
    live, api, orgs, settings
):
    task_queue = f"omnify-faker-crash-{uuid.uuid4().hex[:8]}"
    settings.TEMPORAL_TASK_QUEUE = task_queue
    integration = shop_integration(
        orgs,
        "faker",
        {
            "count": 20000,
            "seed": 5,
            "records_per_slice": 500,
            "always_updated": False,
            "parallelism": 1,
        },
    )
    first = second = None
    try:
        first = start_worker(live.address, task_queue)
        workflow_id = start_sync(api, integration)
        wait_for(lambda: raw_total(integration) >= 2000, 120, "records to arrive")
        kill(first)
        second = start_worker(live.address, task_queue)
        run = wait_for_status(workflow_id, {"COMPLETED", "FAILED"}, timeout=300)
        if run.status == "COMPLETED":
            temporal_says(workflow_id, "COMPLETED")
    finally:
        for worker in (first, second):
            if worker is not None:
                kill(worker)

    assert run.status == "COMPLETED", run.error
    raw = RawRecord.objects.filter(integration=integration)
    assert raw.filter(stream="users").count() == 20000
    keys = list(raw.values_list("stream", "key"))
    assert len(keys) == len(set(keys))
    assert SyncedRecord.objects.filter(client=integration.client).count() == 20000


def test_cancelling_a_sync_ends_its_connector_within_seconds(live, api, orgs):
    integration = shop_integration(
        orgs,
        "faker",
        {"count": 5000000, "seed": 3, "records_per_slice": 1000, "parallelism": 1},
    )
    workflow_id = start_sync(api, integration)
    wait_for(lambda: raw_total(integration) >= 1000, 120, "records to arrive")
    assert connector_processes("faker")
    cancelled = api("acme-manager").post(f"/api/temporal/workflows/{workflow_id}/cancel")
    assert cancelled.status_code in (200, 202), cancelled.content
    asked = time.monotonic()
    wait_for(lambda: not connector_processes("faker"), 5, "the connector to end")
    assert time.monotonic() - asked <= 5
    assert wait_for_status(workflow_id, {"CANCELED"}, timeout=30).status == "CANCELED"
