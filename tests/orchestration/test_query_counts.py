"""The run list (API and admin) and the audit list make a constant number of queries
whatever the page size: no N+1 through guardian or the foreign keys."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orchestration.admin.runs import WorkflowRunAdmin
from orchestration.models import WorkflowRun
from orchestration.services.audit import AuditAction, audit_event_record


@pytest.fixture
def many_runs(orgs, users):
    starters = [users["acme-operator"], users["acme-manager"], users["acme-admin"]]
    runs = []
    for n in range(30):
        run = WorkflowRun.objects.create(
            organization=orgs["acme"],
            workflow_type="platform-sync",
            workflow_id=f"platform-sync-{n}",
            status="COMPLETED" if n % 2 else "RUNNING",
            started_by=starters[n % 3],
            retry_of=runs[-1] if runs and n % 5 == 0 else None,
        )
        audit_event_record(action=AuditAction.WORKFLOW_START, actor=starters[n % 3], run=run)
        runs.append(run)
    return runs


def count_queries(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = fn()
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("path", ["/api/temporal/workflows", "/api/audit/events"])
def test_api_lists_make_the_same_queries_for_any_page_size(api, many_runs, path):
    client = api("acme-viewer")
    client.get(path)  # warm Django's per-process caches (content types) first
    counts = {
        size: count_queries(lambda s=size: client.get(path, {"page_size": s}))
        for size in (1, 10, 30)
    }
    assert len(set(counts.values())) == 1, counts
    assert counts[30] <= 8


def test_admin_changelist_makes_the_same_queries_for_any_page_size(
    client, users, many_runs, monkeypatch
):
    client.force_login(users["acme-manager"])
    url = "/admin/orchestration/workflowrun/"
    client.get(url)
    counts = {}
    for size in (1, 10, 30):
        monkeypatch.setattr(WorkflowRunAdmin, "list_per_page", size)
        counts[size] = count_queries(lambda: client.get(url))
    assert len(set(counts.values())) == 1, counts
