"""The run list's fragment, the run page's stream and raw events, and the run page's actions:
scoped like everything else, cheap, and honest about when to stop."""

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orchestration.models import AuditEvent, WorkflowRun
from tests.support import stream_events, wait_for_status

RUNS = "/admin/orchestration/workflowrun/"


def make_run(org, status="RUNNING", n=0, **fields) -> WorkflowRun:
    return WorkflowRun.objects.create(
        organization=org,
        workflow_type="platform-sync",
        workflow_id=f"platform-sync-{uuid.uuid4()}",
        status=status,
        current_step="sync_platform_data" if status == "RUNNING" else "",
        **fields,
    )


def live_list(client, runs):
    return client.get(f"{RUNS}live/", {"ids": ",".join(str(run.pk) for run in runs)})


def test_fragments_refuse_anonymous_requests_with_403(client, orgs):
    run = make_run(orgs["acme"], status="START_FAILED")
    for url in (f"{RUNS}live/?ids={run.pk}", f"{RUNS}{run.pk}/stream/", f"{RUNS}{run.pk}/events/"):
        assert client.get(url).status_code == 403, url


def test_another_organizations_run_is_404_on_every_run_fragment(client, users, orgs):
    run = make_run(orgs["acme"], status="START_FAILED")
    client.force_login(users["globex-manager"])
    for fragment in ("stream", "events", "act/cancel"):
        url = f"{RUNS}{run.pk}/{fragment}/"
        assert client.get(url).status_code == 404, url
    # The list's fragment says nothing about it either, and has nothing to follow.
    response = live_list(client, [run])
    assert response.status_code == 286
    assert str(run.pk) not in response.content.decode()


def test_list_fragment_updates_open_runs_and_stops_when_none_is_open(client, users, orgs):
    client.force_login(users["acme-viewer"])
    running = make_run(orgs["acme"], retrying=True, last_failure="HubSpot answered 502")
    done = make_run(orgs["acme"], status="COMPLETED")
    response = live_list(client, [running, done])
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="run-{running.pk}-status" hx-swap-oob="true"' in html
    assert "retrying" in html and "sync_platform_data" in html

    WorkflowRun.objects.filter(pk=running.pk).update(status="FAILED", error="gave up")
    response = live_list(client, [running, done])
    assert response.status_code == 286  # htmx: stop polling
    assert "gave up" in response.content.decode()


def test_list_fragment_rejects_malformed_ids(client, users):
    client.force_login(users["acme-viewer"])
    response = client.get(f"{RUNS}live/", {"ids": "not-a-uuid"})
    assert response.status_code == 400


def test_list_fragment_queries_are_constant_in_the_number_of_runs(client, users, orgs):
    client.force_login(users["acme-viewer"])
    few = [make_run(orgs["acme"]) for _ in range(2)]
    many = few + [make_run(orgs["acme"]) for _ in range(25)]
    live_list(client, few)  # warm per-process caches
    counts = []
    for runs in (few, many):
        with CaptureQueriesContext(connection) as captured:
            assert live_list(client, runs).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1], counts


def test_the_page_of_a_run_that_never_started_follows_nothing(client, users, orgs):
    run = make_run(orgs["acme"], status="START_FAILED", error="Temporal was down")
    client.force_login(users["acme-viewer"])
    html = client.get(f"{RUNS}{run.pk}/change/").content.decode()
    assert "sse-connect" not in html
    assert "Temporal was down" in html and "never reached Temporal" in html


def test_an_action_the_user_may_not_take_changes_nothing(client, users, orgs):
    run = make_run(orgs["acme"], status="FAILED")
    client.force_login(users["acme-viewer"])
    before = AuditEvent.objects.count()
    response = client.post(f"{RUNS}{run.pk}/act/retry/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    messages = [str(message) for message in response.context["messages"]]
    assert messages == ["You may not retry this run: your role or its state doesn't allow it."]
    assert AuditEvent.objects.count() == before
    assert WorkflowRun.objects.count() == 1
    assert client.get(f"{RUNS}{run.pk}/act/explode/").status_code == 404


@pytest.mark.temporal
def test_run_fragment_shows_temporal_progress_to_a_viewer(client, users, api, live, demo_client):
    body = {"organization": "acme", "model": "churn", "params": {"epochs": 1_000_000}}
    started = api("acme-manager").post("/api/temporal/workflows/eyes-retrain", body, format="json")
    assert started.status_code == 202
    run = WorkflowRun.objects.get(workflow_id=started.json()["workflow_id"])
    client.force_login(users["acme-viewer"])
    page = client.get(f"{RUNS}{run.pk}/change/").content.decode()
    stream = re.search(r'sse-connect="([^"]+)"', page).group(1).replace("&amp;", "&")
    # The page's stream, fed by the real Temporal through the cockpit: the retrain's epochs.
    _, events = stream_events(client, stream, stop=lambda e: "epoch " in e[-1][1], timeout=30)
    html = "".join(data for _, data in events)
    assert "1 of 2" in html
    assert "button run-action" not in html  # a viewer is offered nothing
    api("acme-manager").post(f"/api/temporal/workflows/{run.workflow_id}/cancel")
    wait_for_status(run.workflow_id, {"CANCELED"})


def test_a_refused_request_is_logged_as_one_info_line():
    import logging
    import sys

    from django.core.exceptions import PermissionDenied

    from orchestration.logging import ExpectedRefusalFilter

    try:
        raise PermissionDenied
    except PermissionDenied:
        record = logging.LogRecord(
            "django.request", logging.WARNING, __file__, 1, "Forbidden: %s", ("/x",), sys.exc_info()
        )
    assert ExpectedRefusalFilter().filter(record)
    assert record.levelname == "INFO" and record.exc_info is None
    assert logging.Formatter().format(record) == "Forbidden: /x"


def test_the_run_lists_starter_filters_name_no_operator_to_tenants(
    client, users, orgs, django_user_model
):
    root = django_user_model.objects.create_superuser("root-operator", password="x")
    make_run(orgs["acme"], status="COMPLETED", started_by=root)  # its row names root, as it is

    def starter_filter(page: str) -> str:
        sidebar = page[page.index('id="changelist-filter"') :]
        return sidebar[: sidebar.index("</nav>")]

    client.force_login(users["acme-manager"])
    offered = starter_filter(client.get(RUNS).content.decode())
    assert f"started_by__id__exact={users['acme-operator'].pk}" in offered  # a member of acme
    assert "root-operator" not in offered  # not an operator's account
    assert "globex-manager" not in offered  # nor another tenant's member
    client.force_login(root)
    assert "root-operator" in starter_filter(client.get(RUNS).content.decode())
