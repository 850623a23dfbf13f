"""Connectors and the page-by-page sync, against a real HTTP server (tests/paged_source.py)
and the test database: pagination, field maps, retries of 429s (after Retry-After) and 5xx,
clear failures for other answers and malformed pages, credentials sealed at rest and sent
only as the header, and a sync that continues from its cursor, resumes its own progress and
counts what it created and updated."""

import io
import json
import uuid

import pytest
from django.core.management import call_command

from orchestration.models import Client, Integration, SyncedRecord, WorkflowRun
from orchestration.platform.connectors import (
    ConnectorFailure,
    ConnectorUnavailable,
    SyncTarget,
    config_validated,
    connector_for,
    http_json,
)
from orchestration.platform.credentials import (
    CredentialsUnreadable,
    credentials_open,
    credentials_seal,
)
from orchestration.platform.sync import SyncProgress, platform_records_sync
from tests.paged_source import PagedSource, source_records

TARGET = SyncTarget(client_key="demo@acme.example", platform="ga4")
SECRET = "Bearer s3cr3t-value"


def http_json_connector(url: str, credentials=None, **config):
    return connector_for(
        "http-json", config={"url": url, **config}, credentials=credentials, target=TARGET
    )


def read_all(connector) -> tuple[list, int]:
    records, cursor, pages = [], None, 0
    while True:
        page = connector.fetch_page(cursor)
        records += page.records
        pages += 1
        if page.next_cursor is None:
            return records, pages
        cursor = page.next_cursor


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(http_json, "FIRST_BACKOFF_SECONDS", 0.05)


def test_http_json_reads_every_page_with_the_credential_header():
    served = source_records(250)
    with PagedSource(served) as source:
        connector = http_json_connector(
            source.url, {"header": "Authorization", "value": SECRET}, page_size=100
        )
        records, pages = read_all(connector)
    assert pages == 3
    assert [r.external_id for r in records] == [r["id"] for r in served]
    first = records[0]
    assert (first.email, first.sessions, str(first.spend), first.churned) == (
        "person00000@source.example",
        0,
        "0.00",
        True,
    )
    assert source.cursors() == [None, "c100", "c200"]
    assert {request.limit for request in source.requests} == {100}
    assert {request.authorization for request in source.requests} == {SECRET}


def test_a_429_waits_for_retry_after_and_a_500_is_tried_again():
    with PagedSource(source_records(30), faults={"c10": ["429"], "c20": ["500"]}) as source:
        records, pages = read_all(http_json_connector(source.url, page_size=10))
    assert len(records) == 30 and pages == 3
    assert [(r.cursor, r.status) for r in source.requests] == [
        (None, 200),
        ("c10", 429),
        ("c10", 200),
        ("c20", 500),
        ("c20", 200),
    ]
    waited = source.requests[2].at - source.requests[1].at
    assert waited >= 0.9  # Retry-After: 1 was honoured, not the 0.05 s backoff


def test_a_source_that_keeps_failing_is_retryable_for_temporal():
    with (
        PagedSource(source_records(5), faults={None: ["500"] * 10}) as source,
        pytest.raises(ConnectorUnavailable, match="answered 500 after 6 tries"),
    ):
        http_json_connector(source.url).fetch_page(None)
    assert len(source.requests) == http_json.TRIES_PER_PAGE


@pytest.mark.parametrize(
    ("fault", "message"),
    [("404", "answered 404; not retrying"), ("garbage", "not JSON")],
)
def test_other_answers_fail_at_once(fault, message):
    with (
        PagedSource(source_records(5), faults={None: [fault]}) as source,
        pytest.raises(ConnectorFailure, match=message),
    ):
        http_json_connector(source.url).fetch_page(None)
    assert len(source.requests) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("email"), "record 1 has no 'email' \\(the email\\)"),
        (
            lambda r: r.update(sessions="many"),
            "record 1: 'sessions' .* non-negative integer; got a str",
        ),
        (lambda r: r.update(spend=-3), "'spend' .* non-negative amount; got a int"),
        (lambda r: r.update(email="not-an-address"), "'email' .* e-mail address; got a str"),
        (lambda r: r.update(churned="yes"), "'churned' .* true or false"),
    ],
)
def test_a_malformed_record_names_the_record_and_field_never_its_value(change, message):
    served = source_records(3)
    change(served[1])
    with PagedSource(served) as source, pytest.raises(ConnectorFailure, match=message) as failure:
        http_json_connector(source.url).fetch_page(None)
    assert "person00001" not in str(failure.value) and "many" not in str(failure.value)


def test_paths_and_field_names_are_configurable():
    served = [
        {
            "customer": {"key": 7, "mail": "a@b.example"},
            "visits": "3",  # HubSpot sends every property as a string
            "value": "12.5",
            "idle": 4,
            "tickets": 0,
            "lost": False,
        }
    ]
    document = {"data": {"items": served}, "paging": {"after": None}}
    with PagedSource([]) as source:
        source._page = lambda *query: document
        [record] = (
            http_json_connector(
                source.url,
                records_path="data.items",
                next_cursor_path="paging.after",
                fields={
                    "id": "customer.key",
                    "email": "customer.mail",
                    "sessions": "visits",
                    "spend": "value",
                    "days_since_last_activity": "idle",
                    "support_tickets": "tickets",
                    "churned": "lost",
                },
            )
            .fetch_page(None)
            .records
        )
    assert (record.external_id, record.email, record.sessions, str(record.spend)) == (
        "7",
        "a@b.example",
        3,
        "12.50",
    )


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "http://user:pw@example.com/x"}, "url"),
        ({"url": "https://example.com", "page_size": 0}, "page_size"),
        ({"url": "https://example.com", "page_size": 5000}, "page_size"),
        ({"url": "https://example.com", "timeout_seconds": 0}, "timeout_seconds"),
        ({}, "url"),
    ],
)
def test_http_json_configuration_is_validated(config, field):
    from rest_framework.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        config_validated("http-json", config)
    assert field in error.value.detail


def test_configuration_defaults_are_the_documented_ones():
    config = config_validated("http-json", {"url": "https://api.example.com/customers"})
    assert config["cursor_param"] == "cursor" and config["limit_param"] == "limit"
    assert config["records_path"] == "records" and config["next_cursor_path"] == "next_cursor"
    assert config["fields"] == {name: name for name in http_json.RECORD_FIELDS}
    assert config_validated("demo", {}) == {"customers": 200, "page_size": 200}


def test_credentials_are_sealed_and_bound_to_their_integration():
    sealed = credentials_seal(5, {"header": "X-Api-Key", "value": SECRET})
    assert SECRET not in sealed
    assert credentials_open(5, sealed) == {"header": "X-Api-Key", "value": SECRET}
    with pytest.raises(CredentialsUnreadable):
        credentials_open(6, sealed)  # copied onto another integration
    with pytest.raises(CredentialsUnreadable):
        credentials_open(5, sealed.replace(sealed.split(":")[1], "retired-key"))


# --- the sync ---------------------------------------------------------------------------------
@pytest.fixture
def source_client(orgs):
    return Client.objects.create(
        organization=orgs["acme"], name="Source", email="source@acme.example", status="active"
    )


def http_integration(client, url: str, **config) -> Integration:
    return Integration.objects.create(
        client=client,
        platform="hubspot",
        connector="http-json",
        config={"url": url, "page_size": 10, **config},
    )


def sync(integration, run_pk=None, **options):
    beats = []
    outcome = platform_records_sync(
        organization_id=integration.client.organization_id,
        client_id=integration.client_id,
        platform=integration.platform,
        heartbeat=lambda *details: beats.append(details),
        run_pk=run_pk,
        **options,
    )
    return outcome, beats


def stored(client) -> dict[str, dict]:
    return {
        r.external_id: {"email": r.email, "sessions": r.sessions, "churned": r.churned}
        for r in SyncedRecord.objects.filter(client=client)
    }


def expected(served) -> dict[str, dict]:
    return {
        r["id"]: {"email": r["email"], "sessions": r["sessions"], "churned": r["churned"]}
        for r in served
    }


def test_a_sync_stores_the_sources_records_and_the_next_continues_from_its_cursor(
    source_client,
):
    served = source_records(25)
    with PagedSource(served) as source:
        integration = http_integration(source_client, source.url)
        first, beats = sync(integration)
        assert stored(source_client) == expected(served)
        progress = first.progress
        assert (progress.pages, progress.fetched, progress.created, progress.updated) == (
            3,
            25,
            25,
            0,
        )
        assert [json.loads(b[1])["pages"] for b in beats] == [0, 1, 2, 3]
        integration.refresh_from_db()
        assert integration.cursor == "c20"  # the last page's own cursor: read again next time
        assert integration.last_sync["state"] == "completed"

        served += source_records(32)[25:]  # the source grows
        second, _ = sync(integration)
        assert source.cursors()[3:] == ["c20", "c30"]
        assert (second.progress.created, second.progress.updated) == (7, 5)
        assert stored(source_client) == expected(served)

        full, _ = sync(integration, full=True)
        assert source.cursors()[5] is None
        assert (full.progress.created, full.progress.updated, full.records) == (0, 32, 32)


def test_a_retried_sync_resumes_after_its_last_committed_page(source_client, orgs):
    served = source_records(40)
    run = WorkflowRun.objects.create(
        organization=orgs["acme"],
        workflow_type="platform-sync",
        workflow_id=f"platform-sync-{orgs['acme'].pk}-{uuid.uuid4()}",
        status="RUNNING",
    )
    with PagedSource(served, faults={"c20": ["404"]}) as source:
        integration = http_integration(source_client, source.url)
        with pytest.raises(
            ConnectorFailure, match=r"Page 3 \(cursor c20\): the source answered 404"
        ):
            sync(integration, run_pk=str(run.pk))
        # The next attempt, with a stale heartbeat (one page behind the committed record).
        stale = SyncProgress(
            run=str(run.pk),
            full=False,
            started_from=None,
            cursor="c10",
            pages=1,
            fetched=10,
            created=10,
        )
        outcome, _ = sync(integration, run_pk=str(run.pk), checkpoint=stale.checkpoint())
    assert source.cursors() == [None, "c10", "c20", "c20", "c30"]
    assert (outcome.progress.pages, outcome.progress.fetched, outcome.progress.created) == (
        4,
        40,
        40,
    )
    assert stored(source_client) == expected(served)


def test_a_failed_sync_says_so_when_and_why(source_client):
    with PagedSource(source_records(25), faults={"c10": ["404"]}) as source:
        integration = http_integration(source_client, source.url)
        with pytest.raises(ConnectorFailure):
            sync(integration)
    integration.refresh_from_db()
    assert integration.last_sync["state"] == "failed"
    assert integration.last_sync["error"] == (
        "Page 2 (cursor c10): the source answered 404; not retrying."
    )
    assert integration.last_sync["at"]
    assert integration.last_synced_at is None  # it never finished
    assert integration.last_sync["pages"] == 1  # what it committed stays


def test_an_unreachable_source_is_named_by_its_host(source_client):
    integration = http_integration(source_client, "http://127.0.0.1:9/customers")  # no one there
    with pytest.raises(ConnectorUnavailable):
        sync(integration)
    integration.refresh_from_db()
    assert integration.last_sync["state"] == "failed"
    assert "ConnectError reaching 127.0.0.1:9 after 6 tries" in integration.last_sync["error"]


def test_a_sync_retried_after_a_failure_finishes_as_completed(source_client, orgs):
    run = WorkflowRun.objects.create(
        organization=orgs["acme"],
        workflow_type="platform-sync",
        workflow_id=f"platform-sync-{orgs['acme'].pk}-{uuid.uuid4()}",
    )
    served = source_records(25)
    with PagedSource(served, faults={"c10": ["404"]}) as source:
        integration = http_integration(source_client, source.url)
        with pytest.raises(ConnectorFailure):
            sync(integration, run_pk=str(run.pk))
        outcome, _ = sync(integration, run_pk=str(run.pk))
    integration.refresh_from_db()
    assert (integration.last_sync["state"], integration.last_sync["error"]) == ("completed", "")
    assert outcome.records == 25


def test_overlapping_syncs_of_one_integration_both_finish_with_the_sources_records(
    source_client, orgs
):
    served = source_records(30)
    runs = [
        str(
            WorkflowRun.objects.create(
                organization=orgs["acme"],
                workflow_type="platform-sync",
                workflow_id=f"platform-sync-{uuid.uuid4()}",
                status="RUNNING",
            ).pk
        )
        for _ in range(2)
    ]
    with PagedSource(served) as source:
        integration = http_integration(source_client, source.url)
        # The second starts (and writes its progress) while the first is between pages.
        first = SyncProgress(
            run=runs[0],
            full=False,
            started_from=None,
            cursor="c10",
            pages=1,
            fetched=10,
            created=10,
        )
        second, _ = sync(integration, run_pk=runs[1])
        resumed, _ = sync(integration, run_pk=runs[0], checkpoint=first.checkpoint())
    assert (second.progress.created, second.progress.updated) == (30, 0)
    assert resumed.progress.pages == 3 and resumed.progress.updated == 20
    assert source.cursors() == [None, "c10", "c20", "c10", "c20"]
    assert stored(source_client) == expected(served)


def test_the_demo_connector_pages_through_its_configured_volume(source_client):
    integration = Integration.objects.create(
        client=source_client, platform="ga4", config={"customers": 450, "page_size": 100}
    )
    outcome, _ = sync(integration)
    assert (outcome.progress.pages, outcome.records) == (5, 450)
    # Deterministic: a full resync finds exactly the same customers.
    before = stored(source_client)
    again, _ = sync(integration, full=True)
    assert (again.progress.created, again.progress.updated) == (0, 450)
    assert stored(source_client) == before


def test_seeding_never_depends_on_a_real_source(db):
    """`make run` seeds on every start: a demo integration pointed at a source that can't be
    reached must not stop it (it did: ConnectorUnavailable, then `make: *** [run] Error 1`)."""
    call_command("seed_demo", stdout=io.StringIO())
    integration = Integration.objects.get(client__email="demo@acme.example", platform="hubspot")
    integration.connector = "http-json"
    integration.config = {"url": "http://127.0.0.1:9/customers"}
    integration.save()
    records = SyncedRecord.objects.count()
    output = io.StringIO()
    call_command("seed_demo", stdout=output)
    assert "acme: the demo client's hubspot integration reads 'http-json' now" in output.getvalue()
    assert SyncedRecord.objects.count() == records
    integration.refresh_from_db()
    assert integration.connector == "http-json"
