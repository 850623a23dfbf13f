"""The run page's live stream (orchestration/admin/run_feed.py): while nothing but the progress
moved, a page showing the current version gets `tick` events (the progress alone, out of band);
a change of the row or of Temporal's timeline gets the whole region again; a terminal run its
last region and `end`. All pages of a run share one reader of it."""

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership
from orchestration.admin import cockpit as run_cockpit
from orchestration.admin import run_feed, run_page
from orchestration.models import WorkflowRun
from orchestration.services.memberships import membership_remove
from tests.support import follow_stream, stream_events

RUNS = "/admin/orchestration/workflowrun/"


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
def bridge(monkeypatch, transactional_db):
    fake = FakeBridge()
    monkeypatch.setattr(run_cockpit, "get_bridge", lambda: fake)
    # Each answer is cached for a second, and the feed reads once a second: both faster here.
    monkeypatch.setattr(run_cockpit, "PENDING_TTL_SECONDS", 0.001)
    monkeypatch.setattr(run_feed, "TICK_SECONDS", 0.05)
    # The version's time bucket (records and audit events refreshed every 15 s) must not roll
    # over in the middle of a test and send a region where it counts ticks.
    monkeypatch.setattr(run_cockpit, "FULL_REFRESH_SECONDS", 3600)
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


def stream_of(client, run) -> str:
    """The stream the run page connects to, with the version it shows (`sse-connect`)."""
    page = client.get(f"{RUNS}{run.pk}/change/")
    assert page.status_code == 200
    return re.search(r'sse-connect="([^"]+)"', page.content.decode()).group(1).replace("&amp;", "&")


def kinds(events) -> list[str]:
    return [name for name, _ in events]


def test_the_page_shows_its_version_and_gets_only_the_progress(client, users, orgs, bridge):
    run = running_run(orgs["acme"])
    client.force_login(users["acme-viewer"])
    url = stream_of(client, run)
    assert re.fullmatch(rf"{RUNS}{run.pk}/stream/\?v=[0-9a-f]+", url)

    def heartbeat(events):
        bridge.epoch += 1

    status, events = stream_events(client, url, stop=lambda e: len(e) == 3, between=heartbeat)
    assert status == 200
    assert kinds(events) == ["tick", "tick", "tick"]
    html = events[-1][1]
    assert "page 3/100" in html  # the heartbeat's progress, every tick
    assert '<div id="run-progress" hx-swap-oob="true">' in html
    assert 'id="run-duration" hx-swap-oob="true"' in html
    assert 'id="timeline-duration-2" hx-swap-oob="true"' in html
    assert "run-summary" not in html and "Audit events" not in html


@pytest.mark.parametrize(
    "change",
    [
        {"steps_done": ["sync_platform_data"], "current_step": "build_dashboard"},
        {"retrying": True, "last_failure": "HubSpot answered 502"},
        {"cancel_requested_at": timezone.now()},
    ],
)
def test_a_changed_row_gets_the_whole_region_once(client, users, orgs, bridge, change):
    run = running_run(orgs["acme"])
    client.force_login(users["acme-viewer"])

    def change_once(events):
        if len(events) == 1:
            WorkflowRun.objects.filter(pk=run.pk).update(**change)

    _, events = stream_events(
        client, stream_of(client, run), stop=lambda e: len(e) == 6, between=change_once
    )
    assert kinds(events)[0] == "tick"
    assert kinds(events).count("region") == 1, kinds(events)  # then ticks of the new version
    assert kinds(events)[-1] == "tick"
    region = dict(events)["region"]
    assert region.startswith('<div id="run-live"') and 'sse-swap="region"' in region


def test_a_terminal_run_gets_its_last_region_and_the_stream_ends(client, users, orgs, bridge):
    run = running_run(orgs["acme"])
    client.force_login(users["acme-viewer"])

    def finish(events):
        WorkflowRun.objects.filter(pk=run.pk).update(status="COMPLETED", closed_at=timezone.now())

    _, events = stream_events(client, stream_of(client, run), between=finish)
    assert kinds(events)[-2:] == ["region", "end"], kinds(events)
    region = events[-2][1]
    assert 'data-status="COMPLETED"' in region and "sse-swap" not in region


def test_a_closed_run_page_opens_no_stream(client, users, orgs, bridge):
    run = running_run(orgs["acme"])
    WorkflowRun.objects.filter(pk=run.pk).update(status="FAILED", closed_at=timezone.now())
    client.force_login(users["acme-viewer"])
    html = client.get(f"{RUNS}{run.pk}/change/").content.decode()
    assert 'id="run-live"' in html and "sse-connect" not in html and "sse-swap" not in html


def test_the_stream_opens_nothing_to_strangers(client, users, orgs, bridge):
    run = running_run(orgs["acme"])
    url = f"{RUNS}{run.pk}/stream/"
    assert client.get(url).status_code == 403  # no session: not a login page in the stream
    client.force_login(users["globex-manager"])
    assert client.get(url).status_code == 404  # another organization's run isn't revealed
    client.force_login(users["acme-viewer"])
    assert client.get(f"{RUNS}{uuid.uuid4()}/stream/").status_code == 404


def test_a_viewer_whose_role_is_removed_stops_being_fed(client, users, orgs, bridge, monkeypatch):
    monkeypatch.setattr(run_page, "STREAM_RECHECK_SECONDS", 0)
    run = running_run(orgs["acme"])
    viewer = users["acme-viewer"]
    client.force_login(viewer)

    def revoke(events):
        if len(events) == 2:
            membership_remove(membership=Membership.objects.get(user=viewer))

    status, events = stream_events(client, stream_of(client, run), between=revoke, timeout=10)
    # Then the stream ends, and tells the page to stop (no reconnecting to a 404 forever).
    assert status == 200 and kinds(events) == ["tick", "tick", "end"]


def test_a_viewer_who_logged_out_stops_being_fed(client, users, orgs, bridge, monkeypatch):
    from django.contrib.sessions.models import Session

    monkeypatch.setattr(run_page, "STREAM_RECHECK_SECONDS", 0)
    run = running_run(orgs["acme"])
    client.force_login(users["acme-viewer"])

    def log_out_elsewhere(events):
        if len(events) == 2:
            Session.objects.all().delete()  # what logging out (or expiring) does to it

    status, events = stream_events(
        client, stream_of(client, run), between=log_out_elsewhere, timeout=10
    )
    assert status == 200 and kinds(events) == ["tick", "tick", "end"]


def test_the_pages_of_a_run_share_one_reader(client, users, orgs, bridge, monkeypatch):
    run = running_run(orgs["acme"])
    reads = []
    read = run_feed.read_snapshot
    monkeypatch.setattr(run_feed, "read_snapshot", lambda pk: reads.append(pk) or read(pk))
    client.force_login(users["acme-viewer"])
    url = stream_of(client, run)

    async def two_pages():
        follow = [follow_stream(client, url, stop=lambda e: len(e) == 10) for _ in range(2)]
        pages = await asyncio.gather(*follow)
        # Both pages gone, their streams abandoned mid-way: the reader stops on its own.
        key = (asyncio.get_running_loop(), run.pk)
        feed = run_feed._FEEDS[key]
        await asyncio.sleep((run_feed.IDLE_TICKS + 2) * run_feed.TICK_SECONDS)
        assert feed.finished and key not in run_feed._FEEDS
        return pages

    pages = asyncio.run(two_pages())
    assert [kinds(events).count("tick") for _, events in pages] == [10, 10]
    # One reader for both pages (10 ticks, then a few more until it notices nobody asks), not
    # one read per page and tick (20 and more).
    assert len(reads) < 20, len(reads)


def test_a_tick_reads_the_run_in_one_query(users, orgs, bridge):
    run = running_run(orgs["acme"])
    run_feed.read_snapshot(run.pk)  # warms per-process caches
    with CaptureQueriesContext(connection) as captured:
        snapshot = run_feed.read_snapshot(run.pk)
    assert len(captured) == 1, [query["sql"] for query in captured]
    assert snapshot.run == run and not snapshot.terminal
    assert run_feed.read_snapshot(uuid.uuid4()) is None


def test_the_streams_lookup_sees_what_the_run_list_sees(users, orgs, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    from orchestration.selectors.runs import visible_run, workflow_run_list

    runs = [running_run(orgs["acme"]), running_run(orgs["globex"])]
    someone = django_user_model.objects.create_user("no-role", is_staff=True)
    admin = django_user_model.objects.create_superuser("root", password="x")
    gone = users["acme-manager"]
    gone.is_active = False
    for user in [*users.values(), someone, admin, gone, AnonymousUser()]:
        listed = set(workflow_run_list(user=user).values_list("pk", flat=True))
        seen = {run.pk for run in runs if visible_run(user=user, pk=run.pk)}
        assert seen == listed & {run.pk for run in runs}, user
