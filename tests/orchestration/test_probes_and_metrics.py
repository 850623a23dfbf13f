"""Liveness, readiness and metrics, in-process."""

import pytest
from prometheus_client import REGISTRY

from orchestration.temporal.devserver import free_port

pytestmark = pytest.mark.temporal


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_healthz_answers_without_dependencies(client, settings):
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-ID"]


def test_readyz_names_what_is_down(db, client, temporal_env, settings):
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "temporal": "ok"}

    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.json()["failed"] == ["temporal"]
    assert down.json()["checks"]["database"] == "ok"


def test_metrics_count_starts_start_failures_and_requests(live, api, demo_client, settings, client):
    body = {"organization": "acme", "client": demo_client.pk, "platform": "ga4"}
    starts = sample("omnify_workflow_starts_total", workflow_type="platform-sync")
    latency = sample("omnify_workflow_start_latency_seconds_count", workflow_type="platform-sync")
    posts = sample("omnify_http_requests_total", method="POST", status="202")

    assert (
        api("acme-operator").post("/api/temporal/workflows/platform-sync", body).status_code == 202
    )
    assert sample("omnify_workflow_starts_total", workflow_type="platform-sync") == starts + 1
    assert (
        sample("omnify_workflow_start_latency_seconds_count", workflow_type="platform-sync")
        == latency + 1
    )
    assert sample("omnify_http_requests_total", method="POST", status="202") == posts + 1

    failures = sample("omnify_workflow_start_failures_total", workflow_type="platform-sync")
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"
    assert (
        api("acme-operator").post("/api/temporal/workflows/platform-sync", body).status_code == 503
    )
    assert (
        sample("omnify_workflow_start_failures_total", workflow_type="platform-sync")
        == failures + 1
    )

    exposition = client.get("/metrics").content.decode()
    assert 'omnify_workflow_starts_total{workflow_type="platform-sync"}' in exposition


@pytest.mark.parametrize(
    ("token", "headers", "remote", "status"),
    [
        ("", {}, "127.0.0.1", 200),
        ("", {}, "10.0.0.7", 401),
        ("", {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}, "127.0.0.1", 401),
        ("s3cret", {}, "127.0.0.1", 401),
        ("s3cret", {"HTTP_AUTHORIZATION": "Bearer wrong"}, "10.0.0.7", 401),
        ("s3cret", {"HTTP_AUTHORIZATION": "Bearer s3cret"}, "10.0.0.7", 200),
    ],
)
def test_metrics_are_for_the_scrape_token_or_this_machine(
    db, client, settings, token, headers, remote, status
):
    settings.METRICS_TOKEN = token
    response = client.get("/metrics", REMOTE_ADDR=remote, **headers)
    assert response.status_code == status
    if status == 401:
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"omnify_" not in response.content
