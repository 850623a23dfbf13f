"""When Temporal can't be reached the API answers 503 `temporal_unavailable` within 5 s and
leaves a truthful START_FAILED run with an audit event; when Temporal is back, the same
process starts workflows again."""

import time

import pytest

from orchestration.models import AuditEvent, WorkflowRun
from orchestration.temporal.bridge import reset_bridge
from orchestration.temporal.devserver import DevServer, free_port

pytestmark = pytest.mark.temporal
START = "/api/temporal/workflows/client-onboarding"


def body(n: int) -> dict:
    client = {"name": f"Client {n}", "email": f"c{n}@example.com", "platforms": ["ga4"]}
    return {"organization": "acme", "client": client}


def timed_post(client, n):
    began = time.monotonic()
    response = client.post(START, body(n), format="json")
    return response, time.monotonic() - began


def assert_unavailable(response, elapsed):
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "temporal_unavailable"
    assert elapsed < 5


def test_unreachable_temporal_gives_503_and_a_start_failed_run(transactional_db, settings, api):
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"  # nothing listens there
    response, elapsed = timed_post(api("acme-operator"), 1)
    assert_unavailable(response, elapsed)
    run = WorkflowRun.objects.get()
    assert run.status == "START_FAILED"
    assert run.error
    events = list(run.audit_events.order_by("id").values_list("action", "outcome"))
    assert events == [("workflow.start", "success"), ("workflow.start_failed", "failure")]

    health = api().get("/api/temporal/health")
    assert health.status_code == 503
    assert health.json()["code"] == "temporal_unavailable"


def test_starts_work_again_once_temporal_is_back_without_a_restart(transactional_db, settings, api):
    server = DevServer().start()
    try:
        settings.TEMPORAL_ADDRESS = server.address
        client = api("acme-operator")
        response, _ = timed_post(client, 1)
        assert response.status_code == 202, response.content

        server.stop()
        response, elapsed = timed_post(client, 2)
        assert_unavailable(response, elapsed)
        assert WorkflowRun.objects.filter(status="START_FAILED").count() == 1

        server.start()
        response, _ = timed_post(client, 3)
        assert response.status_code == 202, response.content
        assert response.json()["status"] == "RUNNING"
        assert AuditEvent.objects.filter(action="workflow.start_failed").count() == 1
    finally:
        server.stop()
        reset_bridge()


def test_repeating_a_failed_start_with_its_idempotency_key_starts_that_run(
    transactional_db, settings, api
):
    server = DevServer()  # not started yet: Temporal is down
    settings.TEMPORAL_ADDRESS = server.address
    client = api("acme-operator")
    headers = {"HTTP_IDEMPOTENCY_KEY": "onboard-initech"}
    try:
        first = client.post(START, body(1), format="json", **headers)
        assert first.status_code == 503
        run = WorkflowRun.objects.get()
        assert run.status == "START_FAILED"

        server.start()
        again = client.post(START, body(1), format="json", **headers)
        assert again.status_code == 202, again.content
        assert again.json()["workflow_id"] == run.workflow_id
        assert again.json()["status"] == "RUNNING"
        run.refresh_from_db()
        assert (run.status, run.error) == ("RUNNING", "")
        assert WorkflowRun.objects.count() == 1
        actions = list(run.audit_events.order_by("id").values_list("action", flat=True))
        assert actions == [
            "workflow.start",
            "workflow.start_failed",
            "workflow.idempotent_replay",
            "workflow.started",
        ]

        replay = client.post(START, body(1), format="json", **headers)
        assert replay.status_code == 200
        assert replay.json()["workflow_id"] == run.workflow_id
    finally:
        server.stop()
        reset_bridge()
