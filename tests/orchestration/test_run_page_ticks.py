"""The run page's tick: while nothing but the progress moved, a poller that sends the version
of the region it shows gets the progress alone (out of band, `HX-Reswap: none`), cheaply; a
change of the row, of Temporal's timeline or a terminal run gets the whole region again."""

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orchestration.models import WorkflowRun
from orchestration.selectors import run_cockpit

RUNS = "/admin/orchestration/workflowrun/"
FULL = "admin/orchestration/workflowrun/run_live.html"
TICK = "admin/orchestration/workflowrun/run_live_tick.html"


@dataclass
class FakeExecution:
    pending_activities: tuple


class FakeBridge:
    """Temporal as the cockpit sees it: a pending activity whose heartbeat moves."""

    def __init__(self):
        self.epoch = 1
        self.started = timezone.now() - timedelta(seconds=30)

    def describe(self, workflow_id):
        return FakeExecution(
            (
                {
                    "activity": "sync_platform_data",
                    "state": "STARTED",
                    "attempt": 1,
                    "maximum_attempts": 3,
                    "heartbeat_details": f"page {self.epoch}/100",
                    "last_heartbeat_at": timezone.now().isoformat(),
                },
            )
        )

    def timeline(self, workflow_id):
        return [
            {"kind": "run", "label": "Run started", "started_at": self.started},
            {
                "kind": "activity",
                "label": "sync_platform_data",
                "started_at": self.started,
                "ended_at": None,
                "attempt": 1,
                "outcome": "running",
                "failure": "",
            },
        ]


@pytest.fixture
def bridge(monkeypatch):
    fake = FakeBridge()
    monkeypatch.setattr(run_cockpit, "get_bridge", lambda: fake)
    # Each answer is cached for a second; the tests move the heartbeat faster than that.
    monkeypatch.setattr(run_cockpit, "PENDING_TTL_SECONDS", 0.001)
    return fake


def running_run(org) -> WorkflowRun:
    return WorkflowRun.objects.create(
        organization=org,
        workflow_type="platform-sync",
        workflow_id=f"platform-sync-{uuid.uuid4()}",
        status="RUNNING",
        current_step="sync_platform_data",
        started_at=timezone.now() - timedelta(seconds=30),
    )


def version_in(html: str) -> str:
    return re.search(r"/live/\?v=([0-9a-f]+)\"", html).group(1)


def template_names(response) -> list[str]:
    return [template.name for template in response.templates]


def test_an_unchanged_version_gets_only_the_progress(client, users, orgs, bridge):
    run = running_run(orgs["acme"])
    client.force_login(users["acme-viewer"])
    first = client.get(f"{RUNS}{run.pk}/live/")
    assert first.status_code == 200 and FULL in template_names(first)
    version = version_in(first.content.decode())

    bridge.epoch = 2
    tick = client.get(f"{RUNS}{run.pk}/live/", {"v": version})
    assert tick.status_code == 200
    assert tick["HX-Reswap"] == "none"
    assert FULL not in template_names(tick) and TICK in template_names(tick)
    html = tick.content.decode()
    assert "page 2/100" in html  # the heartbeat's progress, every tick
    assert '<div id="run-progress" hx-swap-oob="true">' in html
    assert 'id="run-duration" hx-swap-oob="true"' in html
    assert 'id="timeline-duration-2" hx-swap-oob="true"' in html
    assert "run-summary" not in html and "Audit events" not in html


def test_a_tick_costs_fewer_queries_than_the_whole_region(client, users, orgs, bridge):
    run = running_run(orgs["acme"])
    client.force_login(users["acme-viewer"])
    url = f"{RUNS}{run.pk}/live/"
    version = version_in(client.get(url).content.decode())  # warms per-process caches
    with CaptureQueriesContext(connection) as full:
        client.get(url)
    with CaptureQueriesContext(connection) as tick:
        assert client.get(url, {"v": version})["HX-Reswap"] == "none"
    # The session, the user, and the run with the user's permission on its organization: no
    # scope built, no actions, records or audit events.
    assert len(tick) <= 3, [query["sql"] for query in tick]
    assert len(tick) < len(full)


@pytest.mark.parametrize(
    "change",
    [
        {"steps_done": ["sync_platform_data"], "current_step": "build_dashboard"},
        {"retrying": True, "last_failure": "HubSpot answered 502"},
        {"cancel_requested_at": timezone.now()},
    ],
)
def test_a_changed_row_gets_the_whole_region(client, users, orgs, bridge, change):
    run = running_run(orgs["acme"])
    client.force_login(users["acme-viewer"])
    version = version_in(client.get(f"{RUNS}{run.pk}/live/").content.decode())
    WorkflowRun.objects.filter(pk=run.pk).update(**change)
    response = client.get(f"{RUNS}{run.pk}/live/", {"v": version})
    assert response.status_code == 200 and "HX-Reswap" not in response
    assert FULL in template_names(response)
    assert version_in(response.content.decode()) != version


def test_a_terminal_run_stops_polling_whatever_version_is_sent(client, users, orgs, bridge):
    run = running_run(orgs["acme"])
    client.force_login(users["acme-viewer"])
    version = version_in(client.get(f"{RUNS}{run.pk}/live/").content.decode())
    WorkflowRun.objects.filter(pk=run.pk).update(status="COMPLETED", closed_at=timezone.now())
    response = client.get(f"{RUNS}{run.pk}/live/", {"v": version})
    assert response.status_code == 286
    assert "hx-trigger" not in response.content.decode()


def test_a_version_opens_nothing_to_strangers(client, users, orgs, bridge):
    run = running_run(orgs["acme"])
    client.force_login(users["acme-viewer"])
    version = version_in(client.get(f"{RUNS}{run.pk}/live/").content.decode())
    client.logout()
    assert client.get(f"{RUNS}{run.pk}/live/", {"v": version}).status_code == 403
    client.force_login(users["globex-manager"])
    assert client.get(f"{RUNS}{run.pk}/live/", {"v": version}).status_code == 404


def test_the_pollers_lookup_sees_what_the_run_list_sees(users, orgs, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    from orchestration.selectors.run_cockpit import visible_run
    from orchestration.selectors.runs import workflow_run_list

    runs = [running_run(orgs["acme"]), running_run(orgs["globex"])]
    someone = django_user_model.objects.create_user("no-role", is_staff=True)
    admin = django_user_model.objects.create_superuser("root", password="x")
    gone = users["acme-manager"]
    gone.is_active = False
    for user in [*users.values(), someone, admin, gone, AnonymousUser()]:
        listed = set(workflow_run_list(user=user).values_list("pk", flat=True))
        seen = {run.pk for run in runs if visible_run(user=user, pk=run.pk)}
        assert seen == listed & {run.pk for run in runs}, user
