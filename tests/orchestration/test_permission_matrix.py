"""Every API endpoint and admin page and action, for every role, in the caller's own
organization and in another one, and anonymously: the exact status, and nothing written when
refused. Allowed operations run for real against the suite's Temporal server; runs are started
on a task queue no worker polls, so they stay RUNNING until the test ends."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from accounts.roles import ROLE_PERMISSIONS, Role
from orchestration.models import AuditEvent, WorkflowRun
from orchestration.workflows.registry import UNITS
from tests.support import sample_params

pytestmark = pytest.mark.temporal
BASE = "/api/temporal/workflows"
ROLES = ["acme-viewer", "acme-operator", "acme-manager", "acme-admin", "globex-manager", None]

STANDARD = {"acme-operator": 202, "acme-manager": 202, "acme-admin": 202}
SENSITIVE = {"acme-manager": 202, "acme-admin": 202}


def start_body(workflow_type: str, demo) -> dict:
    """A start body of the type in acme, from its unit's samples (every registered type)."""
    params = sample_params(workflow_type, demo.organization, demo, "matrix")
    serializer = UNITS[workflow_type].start_serializer
    return {
        "organization": "acme",
        **serializer.params_as_body(organization=demo.organization, params=params),
    }


def starters(workflow_type: str) -> dict:
    """acme's roles that hold the type's permission (its definition's), with the 202 each gets."""
    permission = UNITS[workflow_type].permission
    return {f"acme-{role}": 202 for role in Role if permission in ROLE_PERMISSIONS[role]}


def expected(allowed: dict, role: str | None, *, refused: int = 403, other_org: int = 403) -> int:
    if role is None:
        return 401
    if role == "globex-manager":
        return other_org
    return allowed.get(role, refused)


@pytest.fixture
def idle_queue(live, settings):
    """Starts go to a queue without a worker: real executions that stay RUNNING."""
    settings.TEMPORAL_TASK_QUEUE = "omnify-matrix-no-worker"


@pytest.fixture
def running(idle_queue, api, demo_client, churn_model):
    """A RUNNING acme run of each workflow type, started through the API by acme-admin."""
    runs = {}
    for workflow_type in UNITS:
        response = api("acme-admin").post(
            f"{BASE}/{workflow_type}", start_body(workflow_type, demo_client), format="json"
        )
        assert response.status_code == 202
        runs[workflow_type] = WorkflowRun.objects.get(workflow_id=response.json()["workflow_id"])
    return runs


def snapshot():
    return (
        AuditEvent.objects.count(),
        list(WorkflowRun.objects.order_by("pk").values_list("pk", "status", "cancel_requested_at")),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("workflow_type", list(UNITS))
def test_start(idle_queue, api, demo_client, churn_model, role, workflow_type):
    allowed = starters(workflow_type)
    body = start_body(workflow_type, demo_client)
    before = snapshot()
    response = api(role).post(f"{BASE}/{workflow_type}", body, format="json")
    # Another organization is a field error, as one that doesn't exist would be.
    assert response.status_code == expected(allowed, role, other_org=400)
    if response.status_code != 202:
        assert snapshot() == before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("workflow_type", ["platform-sync", "eyes-retrain"])
def test_cancel(running, api, role, workflow_type):
    allowed = starters(workflow_type)
    run = running[workflow_type]
    before = snapshot()
    response = api(role).post(f"{BASE}/{run.workflow_id}/cancel")
    assert response.status_code == expected(allowed, role, other_org=404)
    if response.status_code != 202:
        assert snapshot() == before


@pytest.mark.parametrize("role", ROLES)
def test_terminate(running, api, role):
    run = running["platform-sync"]
    before = snapshot()
    response = api(role).post(f"{BASE}/{run.workflow_id}/terminate", {"reason": "matrix"})
    allowed = {"acme-manager": 200, "acme-admin": 200}
    assert response.status_code == expected(allowed, role, other_org=404)
    if response.status_code != 200:
        assert snapshot() == before
    else:
        assert WorkflowRun.objects.get(pk=run.pk).status == "TERMINATED"


@pytest.mark.parametrize("role", ROLES)
def test_retry(running, api, role):
    failed = running["platform-sync"]
    WorkflowRun.objects.filter(pk=failed.pk).update(status="FAILED")
    before = snapshot()
    response = api(role).post(f"{BASE}/{failed.workflow_id}/retry", {}, format="json")
    assert response.status_code == expected(SENSITIVE, role, other_org=404)
    if response.status_code != 202:
        assert snapshot() == before
    else:
        assert response.json()["retry_of"] == failed.workflow_id


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("suffix", ["status", "history"])
def test_read_a_run(running, api, role, suffix):
    run = running["eyes-retrain"]
    readers = {r: 200 for r in ROLES if r and r.startswith("acme-")}
    response = api(role).get(f"{BASE}/{run.workflow_id}/{suffix}")
    assert response.status_code == expected(readers, role, other_org=404)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", [BASE, "/api/audit/events"])
def test_lists_show_only_own_organizations(running, api, role, path):
    response = api(role).get(path)
    if role is None:
        assert response.status_code == 401
        return
    assert response.status_code == 200
    organizations = {row["organization"] for row in response.json()["results"]}
    if role != "globex-manager":
        assert organizations == {"acme"}
    else:  # no globex runs exist; its audit log holds its own membership event only
        assert organizations == (set() if path == BASE else {"globex"})


@pytest.mark.parametrize("role", ROLES)
def test_configuration(api, users, role):
    allowed = {"acme-manager": 200, "acme-admin": 200}
    # globex-manager manages its own organization, so it may read the configuration.
    response = api(role).get("/api/temporal/configuration")
    assert response.status_code == expected(allowed, role, other_org=200)


# --- the admin ------------------------------------------------------------------------------
def admin_client(client, users, role):
    if role:
        client.force_login(users[role])
    return client


ADMIN_PAGES = [
    ("/admin/orchestration/workflowrun/", dict.fromkeys(ROLES[:-1], 200)),
    ("/admin/orchestration/auditevent/", dict.fromkeys(ROLES[:-1], 200)),
    ("/admin/orchestration/client/", dict.fromkeys(ROLES[:-1], 200)),
    ("/admin/accounts/membership/", {"acme-admin": 200}),
    ("/admin/accounts/membership/add/", {"acme-admin": 200}),
    # globex-manager may start both in its own organization, so the pages open for it.
    (
        "/admin/orchestration/workflowrun/start/client-onboarding/",
        dict.fromkeys([*STANDARD, "globex-manager"], 200),
    ),
    (
        "/admin/orchestration/workflowrun/start/eyes-retrain/",
        dict.fromkeys([*SENSITIVE, "globex-manager"], 200),
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("url", "allowed"), ADMIN_PAGES)
def test_admin_pages(client, users, role, url, allowed):
    response = admin_client(client, users, role).get(url)
    if role is None:
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    else:
        assert response.status_code == allowed.get(role, 403), url


@pytest.mark.parametrize("role", ROLES)
def test_admin_run_page_is_404_outside_the_organization(running, client, users, role):
    run = running["eyes-retrain"]
    response = admin_client(client, users, role).get(
        f"/admin/orchestration/workflowrun/{run.pk}/change/"
    )
    if role is None:
        assert response.status_code == 302
    else:
        assert response.status_code == (404 if role == "globex-manager" else 200)


ADMIN_ACTIONS = {
    "cancel_runs": ("platform-sync", STANDARD),
    "terminate_runs": ("platform-sync", SENSITIVE),
    "retry_runs": ("platform-sync", SENSITIVE),
    "refresh_runs": ("platform-sync", SENSITIVE),
}


@pytest.mark.parametrize("role", [r for r in ROLES if r])
@pytest.mark.parametrize("action", list(ADMIN_ACTIONS))
def test_admin_actions(running, client, users, role, action):
    workflow_type, allowed = ADMIN_ACTIONS[action]
    run = running[workflow_type]
    if action == "retry_runs":
        WorkflowRun.objects.filter(pk=run.pk).update(status="FAILED")
    admin_client(client, users, role)
    url = "/admin/orchestration/workflowrun/"
    offered = f'value="{action}"' in client.get(url).content.decode()
    assert offered is (role in allowed)

    data = {"action": action, ACTION_CHECKBOX_NAME: [str(run.pk)], "reason": "matrix"}
    before = snapshot()
    confirmation = client.post(url, data)
    if role not in allowed:
        # Not offered (or the run isn't in the user's list): no confirmation, no change.
        assert confirmation.status_code in (200, 302)
        assert b"Yes, " not in confirmation.content
        assert snapshot() == before
        return
    assert confirmation.status_code == 200
    assert b"Yes, " in confirmation.content
    assert snapshot() == before  # the confirmation page itself changes nothing
    done = client.post(url, {**data, "post": "yes"}, follow=True)
    assert done.status_code == 200
    messages = [str(m) for m in done.context["messages"]]
    assert any(run.workflow_id in m for m in messages), messages
    assert AuditEvent.objects.count() > before[0] or action == "refresh_runs"
