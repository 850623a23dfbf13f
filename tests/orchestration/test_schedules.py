"""Schedules on the real Temporal dev server with the console's real worker: a schedule made
through the API is a Temporal Schedule; what it starts is a console run with the schedule as
its starter; pause, unpause, trigger and delete reach Temporal; another organization can't
see it; bad input is a 400, a role that can't start the type a 403, Temporal down a 503
with nothing written; `sync_schedules` re-creates and repairs; the admin goes through the
same service."""

import json
import subprocess
import time
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
    ScheduleUpdate,
)

from orchestration.models import AuditEvent, WorkflowRun, WorkflowSchedule
from orchestration.temporal.bridge import get_bridge
from orchestration.temporal.console_schedules import SCHEDULE_ID_PREFIX
from orchestration.temporal.cron import CronError, cron_fields, validate_cron
from orchestration.temporal.devserver import free_port, temporal_binary
from orchestration.temporal.workflow_ids import organization_of, schedule_of, workflow_id_for
from tests.support import wait_for_status

BASE = "/api/temporal/schedules"
DONE = {"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"}
YEARLY = "0 0 1 1 *"  # never fires during a test: runs come from triggers


def onboarding(n: int = 1) -> dict:
    return {"client": {"name": f"Sched {n}", "email": f"s{n}@example.com", "platforms": ["ga4"]}}


def body(**overrides) -> dict:
    return {
        "organization": "acme",
        "workflow_type": "client-onboarding",
        "params": onboarding(),
        "cron": YEARLY,
        **overrides,
    }


def temporal_call(operation):
    return get_bridge().call(operation)


def describe(schedule_id: str):
    async def run(client):
        return await client.get_schedule_handle(f"{SCHEDULE_ID_PREFIX}{schedule_id}").describe()

    return temporal_call(run)


def temporal_schedule_ids() -> set[str]:
    async def run(client):
        return {entry.id async for entry in await client.list_schedules()}

    return temporal_call(run)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [temporal_binary(), *args, "--address", settings.TEMPORAL_ADDRESS],
        capture_output=True,
        text=True,
        timeout=30,
    )


def create(api, username: str = "acme-manager", **overrides) -> dict:
    response = api(username).post(BASE, body(**overrides), format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- without Temporal ----------------------------------------------------------------------------
def test_scheduled_executions_ids_name_organization_and_schedule():
    schedule = str(uuid.uuid4())
    action_id = workflow_id_for("client-onboarding", 12, schedule)
    execution = f"{action_id}-2026-01-31T09:15:00Z"
    assert organization_of(execution) == "12"
    assert schedule_of(execution) == schedule
    assert organization_of(action_id) == "12" and schedule_of(action_id) is None
    assert organization_of(f"{action_id}-2026-01-31") is None
    assert schedule_of("omnify-reconcile-runs-omnify-console") is None


@pytest.mark.parametrize(
    "expression",
    ["* * * * *", "*/15 9-17 * * 1-5", "0 6 1 JAN,JUL *", "5 4 * * SUN", "@daily", "0 0 * * 7"],
)
def test_cron_expressions_accepted(expression):
    assert validate_cron(f"  {expression} ") == expression


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "* * * *",
        "0 0 * * * *",
        "61 * * * *",
        "* 24 * * *",
        "5-1 * * * *",
        "*/0 * * * *",
        "@every 5m",
        "x * * * *",
        "0 0 32 * *",
        "*/99999999999 * * * *",
        "0 0 * FOO *",
    ],
)
def test_cron_expressions_refused_with_a_reason(expression):
    with pytest.raises(CronError):
        validate_cron(expression)


def test_sunday_is_0_or_7():
    assert cron_fields("0 0 * * 7")[4] == {0}
    assert cron_fields("0 0 * * *")[4] == set(range(7))


# --- the API on the real server ------------------------------------------------------------------
@pytest.mark.temporal
def test_a_schedule_reaches_temporal_and_its_runs_name_it(live, api):
    created = create(api, "acme-operator")
    schedule_id = created["id"]
    assert created["params"] == onboarding()
    assert created["temporal"]["next_action_times"]
    assert created["temporal"]["paused"] is False
    assert created["created_by"] == "acme-operator"

    listed = cli("schedule", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert f"{SCHEDULE_ID_PREFIX}{schedule_id}" in listed.stdout

    triggered = api("acme-operator").post(f"{BASE}/{schedule_id}/trigger")
    assert triggered.status_code == 202, triggered.content
    deadline, runs = time.monotonic() + 30, []
    while not runs and time.monotonic() < deadline:
        runs = api("acme-viewer").get(created["runs_url"]).json()["results"]
        time.sleep(0.2)
    [run] = runs
    assert run["schedule"] == schedule_id
    assert run["started_by"] is None
    assert run["organization"] == "acme"
    assert schedule_of(run["workflow_id"]) == schedule_id
    assert run["input"] == WorkflowSchedule.objects.get(pk=schedule_id).params
    finished = wait_for_status(run["workflow_id"], DONE)
    assert finished.status == "COMPLETED", finished.error
    event = AuditEvent.objects.get(action="schedule.run_started")
    assert event.workflow_id == run["workflow_id"]
    assert event.actor_username == f"schedule {schedule_id[:8]}"
    assert event.payload["schedule"] == schedule_id

    detail = api("acme-viewer").get(f"{BASE}/{schedule_id}").json()
    assert [item["workflow_id"] for item in detail["recent_runs"]] == [run["workflow_id"]]
    assert [a["workflow_id"] for a in detail["temporal"]["recent_actions"]] == [run["workflow_id"]]

    paused = api("acme-operator").post(f"{BASE}/{schedule_id}/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    shown = cli("schedule", "describe", "-s", f"{SCHEDULE_ID_PREFIX}{schedule_id}", "-o", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["schedule"]["state"]["paused"] is True
    api("acme-operator").post(f"{BASE}/{schedule_id}/unpause")
    assert describe(schedule_id).schedule.state.paused is False

    changed = api("acme-operator").patch(
        f"{BASE}/{schedule_id}", {"interval_seconds": 3600, "overlap": "allow_all"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["cron"], changed.json()["interval_seconds"]) == ("", 3600)
    spec = describe(schedule_id).schedule.spec
    assert [item.every for item in spec.intervals] == [timedelta(hours=1)] and not spec.calendars

    deleted = api("acme-operator").delete(f"{BASE}/{schedule_id}")
    assert deleted.status_code == 204
    assert f"{SCHEDULE_ID_PREFIX}{schedule_id}" not in temporal_schedule_ids()
    assert not WorkflowSchedule.objects.exists()
    assert WorkflowRun.objects.get(workflow_id=run["workflow_id"]).schedule is None
    actions = list(
        AuditEvent.objects.filter(action__startswith="schedule.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "schedule.create",
        "schedule.trigger",
        "schedule.run_started",
        "schedule.pause",
        "schedule.unpause",
        "schedule.update",
        "schedule.delete",
    ]


@pytest.mark.temporal
def test_another_organization_sees_and_touches_nothing(live, api):
    schedule_id = create(api)["id"]
    globex = api("globex-manager")
    assert globex.get(BASE).json()["count"] == 0
    assert globex.get(f"{BASE}/{schedule_id}").status_code == 404
    assert globex.patch(f"{BASE}/{schedule_id}", {"paused": True}, format="json").status_code == 404
    for action in ("pause", "unpause", "trigger"):
        assert globex.post(f"{BASE}/{schedule_id}/{action}").status_code == 404
    assert globex.delete(f"{BASE}/{schedule_id}").status_code == 404
    refused = globex.post(BASE, body(), format="json")
    assert refused.status_code == 400 and "organization" in refused.json()
    assert describe(schedule_id).schedule.state.paused is False
    assert api("acme-viewer").get(BASE).json()["count"] == 1


@pytest.mark.temporal
def test_scheduling_needs_the_types_start_permission(live, api):
    sensitive = body(workflow_type="eyes-retrain", params={"model": "churn"})
    response = api("acme-operator").post(BASE, sensitive, format="json")
    assert response.status_code == 403, response.content
    assert api("acme-viewer").post(BASE, body(), format="json").status_code == 403
    schedule_id = create(api, "acme-manager", **sensitive)["id"]
    operator = api("acme-operator")
    assert operator.get(f"{BASE}/{schedule_id}").status_code == 200
    assert operator.post(f"{BASE}/{schedule_id}/pause").status_code == 403
    assert operator.delete(f"{BASE}/{schedule_id}").status_code == 403
    assert WorkflowSchedule.objects.get().paused is False


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"cron": "every day"}, "cron"),
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "", "interval_seconds": None}, "cron"),
        ({"interval_seconds": 60}, "cron"),  # both
        ({"cron": "", "interval_seconds": 5}, "interval_seconds"),
        ({"workflow_type": "no-such-type"}, "workflow_type"),
        ({"overlap": "cancel_other"}, "overlap"),
        ({"organization": "nowhere"}, "organization"),
        ({"params": {"client": {"name": "x"}}}, "params"),
        ({"params": {"organization": "globex"}}, "params"),
        ({"params": "text"}, "params"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_a_400_with_field_errors(db, api, overrides, field):
    response = api("acme-manager").post(BASE, body(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not WorkflowSchedule.objects.exists()


def test_params_errors_are_nested(db, api):
    response = api("acme-manager").post(
        BASE, body(params={"client": {"name": "x", "platforms": ["myspace"]}}), format="json"
    )
    assert response.status_code == 400
    assert "client" in response.json()["params"]


def test_unreachable_temporal_is_a_503_and_nothing_is_written(transactional_db, settings, api):
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"  # nothing listens there
    response = api("acme-manager").post(BASE, body(), format="json")
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "temporal_unavailable"
    assert not WorkflowSchedule.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="schedule.").exists()


@pytest.mark.temporal
def test_changes_roll_back_when_temporal_is_down(live, api, settings):
    schedule_id = create(api)["id"]
    address = settings.TEMPORAL_ADDRESS
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"
    try:
        client = api("acme-manager")
        assert client.post(f"{BASE}/{schedule_id}/pause").status_code == 503
        assert client.delete(f"{BASE}/{schedule_id}").status_code == 503
        detail = client.get(f"{BASE}/{schedule_id}")
        assert detail.status_code == 200 and detail.json()["temporal"] is None
    finally:
        settings.TEMPORAL_ADDRESS = address
    schedule = WorkflowSchedule.objects.get()
    assert schedule.paused is False
    assert list(
        AuditEvent.objects.filter(action__startswith="schedule.").values_list("action", flat=True)
    ) == ["schedule.create"]
    assert describe(schedule_id).schedule.state.paused is False


# --- sync_schedules ------------------------------------------------------------------------------
def sync(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("sync_schedules", *args, stdout=out)
    except SystemExit as exit_:
        return int(exit_.code), out.getvalue()
    return 0, out.getvalue()


@pytest.mark.temporal
def test_sync_schedules_recreates_repairs_and_reports(live, api):
    # Temporal compiles cron strings into calendars; the comparison agrees with it.
    crons = ["*/15 9-17 * * 1-5", "0 6 1 JAN,JUL *", "@daily", "30 2 * * 7"]
    ids = [create(api, cron=cron, params=onboarding(n))["id"] for n, cron in enumerate(crons)]
    code, report = sync("--check")
    assert code == 0 and "4 in step" in report, report

    gone, edited = ids[0], ids[1]

    async def meddle(client):
        await client.get_schedule_handle(f"{SCHEDULE_ID_PREFIX}{gone}").delete()

        def to_interval(current):
            held = current.description.schedule
            held.spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=2))])
            return ScheduleUpdate(schedule=held)

        await client.get_schedule_handle(f"{SCHEDULE_ID_PREFIX}{edited}").update(to_interval)
        await client.create_schedule(
            f"{SCHEDULE_ID_PREFIX}{uuid.uuid4()}",
            Schedule(
                action=ScheduleActionStartWorkflow(
                    "client-onboarding", {}, id="orphan", task_queue=settings.TEMPORAL_TASK_QUEUE
                ),
                spec=ScheduleSpec(cron_expressions=[YEARLY]),
            ),
        )

    temporal_call(meddle)
    code, report = sync("--check")
    assert code == 1
    assert f"{SCHEDULE_ID_PREFIX}{gone}: missing" in report
    assert f"{SCHEDULE_ID_PREFIX}{edited}: drifted: spec" in report
    assert "without a row" in report and ": orphan:" in report
    assert "1 missing, 1 drifted, 1 without a row" in report
    assert f"{SCHEDULE_ID_PREFIX}{gone}" not in temporal_schedule_ids()  # --check changed nothing

    code, report = sync()
    assert code == 0, report
    assert describe(gone).schedule.spec.calendars
    assert not describe(edited).schedule.spec.intervals
    assert AuditEvent.objects.filter(action="schedule.synced").count() == 2
    code, report = sync("--check")
    assert code == 1 and "0 missing, 0 drifted, 1 without a row" in report

    assert sync("--prune")[0] == 0
    assert sync("--check")[0] == 0
    assert len(temporal_schedule_ids() & {f"{SCHEDULE_ID_PREFIX}{i}" for i in ids}) == 4


# --- the admin -----------------------------------------------------------------------------------
@pytest.mark.temporal
def test_the_admin_adds_pauses_and_deletes_through_the_service(live, client, users, settings):
    client.force_login(users["acme-manager"])
    add = reverse("admin:orchestration_workflowschedule_add")
    form = {
        "organization": "",
        "workflow_type": "client-onboarding",
        "params": json.dumps(onboarding()),
        "cron": "61 * * * *",
        "interval_seconds": "",
        "overlap": "skip",
    }
    from accounts.models import Organization

    form["organization"] = Organization.objects.get(slug="acme").pk
    refused = client.post(add, form)
    assert refused.status_code == 200 and not WorkflowSchedule.objects.exists()
    assert b"out of range" in refused.content

    form["cron"] = YEARLY
    added = client.post(add, form)
    assert added.status_code == 302, added.content
    schedule = WorkflowSchedule.objects.get()
    assert schedule.created_by == users["acme-manager"]
    assert describe(schedule.pk).schedule.state.paused is False

    page = client.get(reverse("admin:orchestration_workflowschedule_change", args=[schedule.pk]))
    assert page.status_code == 200 and b"Next runs" in page.content

    changelist = reverse("admin:orchestration_workflowschedule_changelist")
    paused = client.post(
        changelist, {"action": "pause_schedules", "_selected_action": [schedule.pk]}
    )
    assert paused.status_code == 302
    assert describe(schedule.pk).schedule.state.paused is True

    client.force_login(users["globex-manager"])
    assert str(schedule.pk)[:8].encode() not in client.get(changelist).content
    change = reverse("admin:orchestration_workflowschedule_change", args=[schedule.pk])
    assert client.get(change).status_code == 302  # "doesn't exist", as for any other

    client.force_login(users["acme-manager"])
    confirmed = {"action": "delete_schedules", "_selected_action": [schedule.pk], "post": "yes"}
    address = settings.TEMPORAL_ADDRESS
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"  # nothing listens there
    try:
        refused = client.post(changelist, confirmed, follow=True)
    finally:
        settings.TEMPORAL_ADDRESS = address
    said = [str(message) for message in refused.context["messages"]]
    assert said[-1] == f"Not done: {schedule}: Temporal is unavailable", said
    assert not any("deleted." in message for message in said), said  # nothing claimed
    assert WorkflowSchedule.objects.filter(pk=schedule.pk).exists()

    deleted = client.post(changelist, confirmed, follow=True)
    assert [str(message) for message in deleted.context["messages"]] == ["1 schedule(s) deleted."]
    assert not WorkflowSchedule.objects.exists()
    assert f"{SCHEDULE_ID_PREFIX}{schedule.pk}" not in temporal_schedule_ids()
