"""Adding a workflow type is one package and one registry line (README "Adding a workflow
type"). A throw-away type from a test package (tests/workflow_types/client_ping: definition,
workflow, activity, input schema, samples), registered the way a deployment adds its own
types (OMNIFY_EXTRA_WORKFLOW_PACKAGES) and with nothing else changed, is started through the
REST API and through the admin's start page of a web server, and run by a worker, each in its
own process as `make run` starts them."""

import re
import uuid

import httpx
import pytest
from django.conf import settings

from orchestration.contract.registry import EXTRA_PACKAGES_VARIABLE
from orchestration.models import WorkflowRun
from tests.conftest import ARTIFACTS
from tests.support import WebServer, api_token, kill, start_worker, wait_for_status

pytestmark = pytest.mark.temporal
PACKAGE = "tests.workflow_types.client_ping"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def ping_console(live, users, demo_client):
    """A worker and a web server that know the test package's type, on a task queue of their
    own; this process doesn't."""
    task_queue = f"omnify-ping-{uuid.uuid4().hex[:8]}"
    extra = {EXTRA_PACKAGES_VARIABLE: PACKAGE}
    worker = start_worker(settings.TEMPORAL_ADDRESS, task_queue, env=extra)
    try:
        server = WebServer(
            temporal_address=settings.TEMPORAL_ADDRESS,
            task_queue=task_queue,
            log=ARTIFACTS / "web-server-ping.log",
            env=extra,
        )
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                yield http
        finally:
            server.stop()
    finally:
        kill(worker)


def test_the_type_is_registered_only_where_its_package_is_named():
    from orchestration.workflows.registry import UNITS

    assert "client-ping" not in UNITS


def test_a_new_type_starts_and_runs_through_the_api(ping_console, users, demo_client, orgs):
    headers = {"Authorization": f"Token {api_token(users['acme-operator'])}"}
    start = "/api/temporal/workflows/client-ping"
    response = ping_console.post(
        start, json={"organization": "acme", "client": demo_client.pk}, headers=headers
    )
    assert response.status_code == 202, response.text
    run = wait_for_status(response.json()["workflow_id"], {"COMPLETED", "FAILED"})
    assert run.status == "COMPLETED", run.error
    assert run.result == {"client_id": demo_client.pk, "client_name": demo_client.name}
    assert run.input == {"client_id": demo_client.pk}

    # Its input schema is the API's: a bad body is a 400 naming the field, nothing written.
    refused = ping_console.post(
        start, json={"organization": "acme", "client": 10**9}, headers=headers
    )
    assert refused.status_code == 400
    assert "client" in refused.json()
    # Its permission is its definition's: a viewer may not start it.
    viewer = {"Authorization": f"Token {api_token(users['acme-viewer'])}"}
    body = {"organization": "acme", "client": demo_client.pk}
    assert ping_console.post(start, json=body, headers=viewer).status_code == 403
    assert WorkflowRun.objects.filter(workflow_type="client-ping").count() == 1


def test_a_new_type_starts_from_the_admins_start_page(ping_console, demo_client):
    login = ping_console.get("/admin/login/")
    ping_console.post(
        "/admin/login/?next=/admin/",
        data={
            "username": "acme-operator",
            "password": "pw",
            "csrfmiddlewaretoken": CSRF.search(login.text).group(1),
        },
    )
    page = ping_console.get("/admin/orchestration/workflowrun/start/client-ping/")
    assert page.status_code == 200
    assert "Start client ping" in page.text
    assert f'value="{demo_client.pk}"' in page.text  # the client is offered
    started = ping_console.post(
        "/admin/orchestration/workflowrun/start/client-ping/",
        data={
            "organization": "acme",
            "client": str(demo_client.pk),
            "csrfmiddlewaretoken": CSRF.search(page.text).group(1),
        },
    )
    assert started.status_code == 302, started.text
    run = WorkflowRun.objects.get(workflow_type="client-ping")
    assert started.headers["location"].endswith(f"/workflowrun/{run.pk}/change/")
    run = wait_for_status(run.workflow_id, {"COMPLETED", "FAILED"})
    assert run.status == "COMPLETED", run.error
    assert run.started_by.username == "acme-operator"
