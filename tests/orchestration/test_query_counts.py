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


def captured_sql(fn) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = fn()
    assert response.status_code == 200, response.content[:300]
    return [query["sql"] for query in captured.captured_queries]


def list_queries(sql: list[str], table: str) -> list[str]:
    return [query for query in sql if f'FROM "{table}"' in query]


@pytest.mark.parametrize(
    ("path", "table"),
    [
        ("/api/temporal/workflows", "orchestration_workflowrun"),
        ("/api/audit/events", "orchestration_auditevent"),
    ],
)
def test_cursor_pages_make_the_same_queries_at_any_depth_and_count_nothing(
    api, many_runs, path, table
):
    client = api("acme-viewer")
    client.get(path, {"cursor": ""})
    first = captured_sql(lambda: client.get(path, {"cursor": "", "page_size": 5}))
    page = client.get(path, {"cursor": "", "page_size": 5}).json()
    assert set(page) == {"next", "previous", "results"} and len(page["results"]) == 5
    deeper_url = page["next"]
    for _ in range(3):
        deeper_url = client.get(deeper_url).json()["next"]
    deeper = captured_sql(lambda: client.get(deeper_url))
    assert len(first) == len(deeper)
    assert not [query for query in first + deeper if "COUNT(" in query.upper()]
    # The caller's organizations are resolved once, to ids: no permission subquery inside
    # the list's query (it kept the database from using the organization's indexes).
    for query in list_queries(first + deeper, table):
        assert "objectpermission" not in query.lower(), query


def test_cursor_pages_walk_the_whole_list_once(api, many_runs):
    client = api("acme-viewer")
    seen = []
    url = "/api/temporal/workflows?cursor=&page_size=7"
    while url:
        page = client.get(url).json()
        seen += [run["workflow_id"] for run in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(run.workflow_id for run in many_runs)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    "query", [{"cursor": "x"}, {"cursor": "", "page": "2"}, {"cursor": "", "ordering": "status"}]
)
def test_a_bad_cursor_or_a_cursor_with_page_or_ordering_is_a_400(api, many_runs, query):
    response = api("acme-viewer").get("/api/temporal/workflows", query)
    assert response.status_code == 400, response.content


def test_search_is_a_workflow_id_prefix(api, many_runs, client, users):
    client_api = api("acme-viewer")
    found = client_api.get("/api/temporal/workflows", {"search": "platform-sync-1"}).json()
    ids = {run["workflow_id"] for run in found["results"]}
    assert ids == {f"platform-sync-{n}" for n in (1, *range(10, 20))}
    assert client_api.get("/api/temporal/workflows", {"search": "sync-1"}).json()["count"] == 0
    client.force_login(users["acme-manager"])
    page = client.get("/admin/orchestration/workflowrun/", {"q": "platform-sync-2"})
    assert page.status_code == 200
    assert page.context["cl"].result_count == 11  # 2 and 20-29


@pytest.mark.parametrize(
    "url",
    [
        "/admin/orchestration/workflowrun/",
        "/admin/orchestration/workflowrun/?status__exact=RUNNING",
        "/admin/orchestration/workflowrun/?q=platform-sync-1",
        "/admin/orchestration/auditevent/",
    ],
)
def test_admin_changelists_count_the_list_once_and_never_the_whole_table(
    client, users, many_runs, url
):
    client.force_login(users["acme-manager"])
    client.get(url)
    sql = captured_sql(lambda: client.get(url))
    table = "orchestration_auditevent" if "auditevent" in url else "orchestration_workflowrun"
    counts = [query for query in list_queries(sql, table) if "COUNT(" in query.upper()]
    # One count, of the filtered list (no "N results (M total)", no date-hierarchy aggregate).
    assert len(counts) <= 1, counts
    for query in sql:
        reads_the_list = "orchestration_workflowrun" in query or "orchestration_auditevent" in query
        aggregates = "django_datetime_trunc" in query or "DISTINCT" in query.upper()
        assert not (reads_the_list and aggregates), query
