"""schemathesis against the API as a manager and as a viewer: every operation of the schema
the console serves (`/api/schema/`), examples generated from it (valid and invalid) sent to
the web server started the way `make run` starts it (uvicorn on omnify.asgi, its own
process) with the suite's Temporal server and worker, so a start really starts and a 503
is a real outage. No answer may be a 5xx, and every answer must be one the schema documents,
in the content type and shape it documents.

Bounded so that both users take about a minute on each database: OMNIFY_FUZZ_EXAMPLES
examples per operation (default 50), a fixed seed (OMNIFY_FUZZ_SEED, default 1; set it to
explore). A failure prints schemathesis's report, with a curl command that reproduces each
finding; the reports are kept under var/test-artifacts/schemathesis/.
"""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from orchestration.models import WorkflowRun
from tests.conftest import ARTIFACTS
from tests.support import wait_for_status

pytestmark = pytest.mark.temporal

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
MAX_EXAMPLES = int(os.environ.get("OMNIFY_FUZZ_EXAMPLES", "50"))
SEED = int(os.environ.get("OMNIFY_FUZZ_SEED", "1"))
PASSWORD = "pw"  # the suite's users' password (tests/conftest.py)


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def authorization(base: str, username: str, name: str) -> str:
    """The Authorization header of a new token from the token endpoint (as any client gets
    one, whatever the token model behind it), with the prefix the API accepts."""
    status, body = http(
        "POST",
        f"{base}/api/auth/token",
        {"username": username, "password": PASSWORD, "name": name},
        {},
    )
    assert status == 200, body
    token = body["token"]
    for prefix in ("Token", "Bearer"):
        header = f"{prefix} {token}"
        if http("GET", f"{base}/api/temporal/workflows", headers={"Authorization": header})[0] == (
            200
        ):
            return header
    raise AssertionError("The API accepts the token with no known prefix.")


def toml_list(values) -> str:
    return "[" + ", ".join(json.dumps(value) for value in values) + "]"


@pytest.fixture
def runs(api, demo_client, orgs):
    """Runs for the fuzzer's workflow ids: a completed one (a real history), one running (to
    cancel, terminate or fail to retry), a failed one with no execution in Temporal (a retry
    starts anew; its history is a 404), and another organization's."""
    manager = api("acme-manager")
    started = manager.post(
        "/api/temporal/workflows/platform-sync",
        {"organization": "acme", "client": demo_client.pk, "platform": "ga4"},
        format="json",
    )
    assert started.status_code == 202, started.content
    completed = wait_for_status(started.json()["workflow_id"], {"COMPLETED"}).workflow_id
    running = manager.post(
        "/api/temporal/workflows/eyes-retrain",
        {"organization": "acme", "model": "churn", "params": {"epochs": 1_000_000}},
        format="json",
    ).json()["workflow_id"]
    failed = WorkflowRun.objects.create(
        organization=orgs["acme"],
        workflow_type="platform-sync",
        workflow_id="platform-sync-fuzz-failed",
        status=WorkflowRun.Status.FAILED,
        input={"client_id": demo_client.pk, "platform": "ga4"},
    ).workflow_id
    other = WorkflowRun.objects.create(
        organization=orgs["globex"],
        workflow_type="eyes-retrain",
        workflow_id="eyes-retrain-fuzz-globex",
        status=WorkflowRun.Status.FAILED,
        input={"model": "churn", "params": {"epochs": 1, "clusters": 2}},
    ).workflow_id
    return [completed, running, failed, other]


def config(runs: list[str], client_id: int, revocable: str) -> str:
    """Known values drawn part of the time, so examples get past the 404s and the
    organization check into validation, services and Temporal. `DELETE /api/auth/token`
    revokes the token it is sent with: it gets a token of its own (revoked by its first
    example, 401 after), so the run's token lives to the end."""
    return f"""
[[operations]]
include-path = "/api/auth/token"
include-method = "DELETE"
headers = {{ Authorization = {json.dumps(revocable)} }}

[dictionaries.runs]
values = {toml_list(runs)}

[dictionaries.organizations]
values = ["acme", "globex"]

[dictionaries.clients]
values = [{client_id}]

[parameters]
"path.workflow_id" = {{ dictionary = "runs", probability = 0.6 }}
"body.organization" = {{ dictionary = "organizations", probability = 0.6 }}
"body.client" = {{ dictionary = "clients", probability = 0.3 }}
"query.organization" = {{ dictionary = "organizations", probability = 0.5 }}
"query.run" = {{ dictionary = "runs", probability = 0.5 }}
"""


@pytest.mark.parametrize("username", ["acme-manager", "acme-viewer"])
def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    web_server, users, demo_client, runs, username, tmp_path
):
    header = authorization(web_server, username, "fuzz")
    config_file = tmp_path / "schemathesis.toml"
    revocable = authorization(web_server, username, "fuzz-revoked")
    config_file.write_text(config(runs, demo_client.pk, revocable))
    reports = ARTIFACTS / "schemathesis" / username
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config_file),
        "--no-color",
        "run",
        f"{web_server}/api/schema/",
        "--header",
        f"Authorization: {header}",
        # Every check but one: positive_data_acceptance expects any body the schema admits
        # to be accepted, but whether a start is valid depends on data no schema holds (the
        # organization must exist and the caller hold the role there, the client must be
        # that organization's, a retry's overrides must be fields of the original start
        # body, text must not be blank once trimmed). Its refusals are 400s with field errors.
        "--exclude-checks",
        "positive_data_acceptance",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        # One request at a time: the examples, not races between them, are what this tests
        # (two at once once deadlocked a retry with another write to the same run on
        # PostgreSQL, a 503 database_unavailable; the fault tests own concurrency).
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--generation-with-security-parameters",
        "false",
        "--report",
        "junit,ndjson",
        "--report-dir",
        str(reports),
    ]
    # Its working directory gets hypothesis's and schemathesis's caches: not the repository.
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )
    output = result.stdout + result.stderr
    print(output[-6000:])
    assert result.returncode == 0, output[-20000:]
