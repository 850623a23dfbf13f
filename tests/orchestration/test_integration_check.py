"""Test connection (`POST /api/platform/integrations/{id}/check`): the integration's real
Airbyte connector is asked (`check`); a refused token says so in the connector's words, an
unreachable source answers within the 30 s bound naming the host, secrets never appear;
managers and admins only, other organizations' integrations are 404, the console's own
connectors have nothing to check; every check is audited."""

import time
from pathlib import Path

import pytest
import yaml

from orchestration.models import AuditEvent, Client, Integration
from orchestration.platform.connectors import config_validated
from tests.paged_source import PagedSource, source_records

MANIFEST = yaml.safe_load(
    (Path(__file__).resolve().parent.parent / "fixtures" / "paged_source_manifest.yaml").read_text()
)
TOKEN = "tok-check-secret"


@pytest.fixture
def integration(orgs):
    client = Client.objects.create(
        organization=orgs["acme"], name="Checked", email="checked@acme.example", status="active"
    )
    return Integration.objects.create(
        client=client,
        platform="hubspot",
        connector="faker",
        config=config_validated("faker", {"count": 10}),
    )


def declarative(integration, url_base: str) -> None:
    integration.connector = "declarative"
    integration.config = config_validated(
        "declarative",
        {
            "__injected_declarative_manifest": MANIFEST,
            "url_base": url_base,
            "api_token": TOKEN,
            "start_date": "2026-01-01T00:00:00Z",
            "end_date": "2026-01-02T23:59:59Z",
        },
    )
    integration.save()


def check(api, integration, user="acme-manager"):
    return api(user).post(f"/api/platform/integrations/{integration.pk}/check")


def test_a_reachable_source_checks_out_and_the_check_is_audited(api, integration):
    answer = check(api, integration)
    assert answer.status_code == 200, answer.content
    assert answer.json()["succeeded"] is True
    event = AuditEvent.objects.get(action="integration.check")
    assert event.payload["succeeded"] is True and event.payload["connector"] == "faker"


def test_a_refused_token_fails_the_check_in_the_connectors_words(api, integration):
    with PagedSource(source_records(5), faults={None: ["401"] * 10}) as source:
        declarative(integration, source.url.rsplit("/", 1)[0])
        answer = check(api, integration)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["succeeded"] is False
    assert "401" in body["message"] or "nauthorized" in body["message"]
    assert TOKEN not in answer.content.decode()
    assert AuditEvent.objects.get(action="integration.check").outcome == "failure"


def test_an_unreachable_source_answers_within_the_bound_naming_its_host(api, integration):
    declarative(integration, "http://unreachable.invalid:81")
    asked = time.monotonic()
    answer = check(api, integration)
    assert time.monotonic() - asked <= 30 + 5  # the bound, and the connector's start
    body = answer.json()
    assert body["succeeded"] is False
    assert "unreachable.invalid" in body["message"], body["message"]


def test_who_may_check_what(api, integration, orgs):
    assert check(api, integration, "acme-viewer").status_code == 403
    assert check(api, integration, "globex-manager").status_code == 404
    integration.connector, integration.config = "demo", {"customers": 5, "page_size": 5}
    integration.save()
    refused = check(api, integration)
    assert refused.status_code == 400
    assert "connector" in refused.json()
    assert not AuditEvent.objects.filter(action="integration.check").exists()
