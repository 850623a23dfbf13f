"""A platform sync from an `http-json` source whose worker is killed (SIGKILL) while a slow
page is in flight: a new worker resumes from the cursor of the last committed page. The
source's request log shows what was read: every page once, except the one in flight at the
kill and the ones answered 429 (read again after its Retry-After) and 500; and the console
ends with exactly the source's records."""

import time
import uuid

import pytest

from orchestration.models import Client, Integration, SyncedRecord
from tests.paged_source import PagedSource, source_records
from tests.support import kill, start_worker, temporal_says, wait_for_status

pytestmark = [pytest.mark.temporal, pytest.mark.faults]

SECRET = "Bearer resume-test-secret"


def test_a_sync_whose_worker_dies_on_a_slow_page_resumes_from_its_cursor(live, api, orgs, settings):
    task_queue = f"omnify-sync-crash-{uuid.uuid4().hex[:8]}"
    settings.TEMPORAL_TASK_QUEUE = task_queue
    served = source_records(100)
    client = Client.objects.create(
        organization=orgs["acme"], name="Resumer", email="resume@acme.example", status="active"
    )
    integration = Integration.objects.create(client=client, platform="hubspot")
    faults = {"c20": ["429"], "c40": ["500"], "c60": ["slow"]}
    first = second = None
    with PagedSource(served, faults=faults) as source:
        configured = api("acme-manager").patch(
            f"/api/platform/integrations/{integration.pk}",
            {
                "connector": "http-json",
                "config": {"url": source.url, "page_size": 10},
                "credentials": {"header": "Authorization", "value": SECRET},
            },
            format="json",
        )
        assert configured.status_code == 200, configured.content
        try:
            first = start_worker(live.address, task_queue)
            started = api("acme-operator").post(
                "/api/temporal/workflows/platform-sync",
                {"organization": "acme", "client": client.pk, "platform": "hubspot"},
                format="json",
            )
            assert started.status_code == 202, started.content
            workflow_id = started.json()["workflow_id"]
            assert source.slow_started.wait(60), (
                f"the slow page was never asked for: {source.cursors()}"
            )
            time.sleep(1)  # the page is in flight: the worker waits on the source
            kill(first)
            read_before_the_kill = source.cursors()
            source.release()
            second = start_worker(live.address, task_queue)
            run = wait_for_status(workflow_id, {"COMPLETED", "FAILED"}, timeout=120)
            if run.status == "COMPLETED":
                # While the worker lives: the workflow reports its outcome just before its
                # last task completes (test_worker_crash failed once killing it in between).
                temporal_says(workflow_id, "COMPLETED")
        finally:
            for worker in (first, second):
                if worker is not None:
                    kill(worker)

    assert run.status == "COMPLETED", run.error
    # Before the kill: the first six pages, the 429'd and 500'd ones twice.
    assert read_before_the_kill == [None, "c10", "c20", "c20", "c30", "c40", "c40", "c50"]
    # The slow page's request (logged once answered), then the new worker from that cursor.
    assert source.cursors()[len(read_before_the_kill) :] == [
        "c60",
        "c60",
        "c70",
        "c80",
        "c90",
    ]
    assert [r.status for r in source.requests if r.cursor in ("c20", "c40")] == [429, 200, 500, 200]
    assert {r.authorization for r in source.requests} == {SECRET}

    stored = {
        r.external_id: (r.email, r.sessions, r.churned)
        for r in SyncedRecord.objects.filter(client=client)
    }
    assert stored == {r["id"]: (r["email"], r["sessions"], r["churned"]) for r in served}
    assert run.result["records"] == 100
    assert (run.result["pages"], run.result["fetched"], run.result["created"]) == (10, 100, 100)
    integration.refresh_from_db()
    assert integration.last_sync["state"] == "completed" and integration.cursor == "c90"
