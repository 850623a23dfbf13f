"""No 500 from any input: each class of unusual input found by hand or by fuzzing is a 400
(or 413) with a message, as JSON under /api/, and writes nothing. Run on SQLite and on
PostgreSQL (`make test-postgres`), whose failure modes differ: SQLite refuses integers
beyond 64 bits and LIKE patterns beyond 50,000 bytes, PostgreSQL refuses NUL in text."""

import base64
import json

import pytest
from django.test import Client as DjangoClient
from rest_framework.test import APIClient

from orchestration.models import AuditEvent, Client, WorkflowRun
from tests.support import wait_for_status

BASE = "/api/temporal/workflows"
TOO_BIG = 99999999999999999999  # beyond 64 bits
VALID_CLIENT = {"name": "Initech", "email": "ops@initech.example", "platforms": ["ga4"]}


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.fixture
def failed_sync(orgs, demo_client):
    """A finished run to retry (no Temporal needed: a refused retry never gets that far)."""
    return WorkflowRun.objects.create(
        organization=orgs["acme"],
        workflow_type="platform-sync",
        workflow_id="platform-sync-unusual-inputs",
        status=WorkflowRun.Status.FAILED,
        input={"client_id": demo_client.pk, "platform": "ga4"},
    )


@pytest.fixture
def manager(api):
    client = api("acme-manager")
    client.raise_request_exception = False  # a 500 must show as a 500, not an exception
    return client


@pytest.fixture
def nothing_written(failed_sync):
    """Asserts, after the test, that no run, audit event or client was written."""
    counts = WorkflowRun.objects.count(), AuditEvent.objects.count(), Client.objects.count()
    yield
    assert (WorkflowRun.objects.count(), AuditEvent.objects.count(), Client.objects.count()) == (
        counts
    )


def assert_refused(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body and isinstance(body, dict)
    messages = json.dumps(body)
    assert len(messages) > 10, body  # something a person can read
    return body


# --- JSON nested thousands deep ----------------------------------------------------------------
DEEP_BODIES = {
    "client-onboarding": lambda deep: f'{{"organization":"acme","client":{deep}}}',
    "platform-sync": lambda deep: f'{{"organization":"acme","client":{deep},"platform":"ga4"}}',
    "eyes-retrain": lambda deep: f'{{"organization":"acme","model":"churn","params":{deep}}}',
    "retention-campaign": lambda deep: f'{{"organization":{deep},"name":"x"}}',
    "client-offboarding": lambda deep: f'{{"organization":"acme","client":[{deep}]}}',
}


@pytest.mark.parametrize("depth", [40, 5000, 100_000])
@pytest.mark.parametrize("workflow_type", sorted(DEEP_BODIES))
def test_deeply_nested_json_in_a_start_is_a_400(manager, nothing_written, workflow_type, depth):
    body = DEEP_BODIES[workflow_type](nested(depth))
    response = manager.post(f"{BASE}/{workflow_type}", body, content_type="application/json")
    assert "nested" in assert_refused(response)["detail"]


@pytest.mark.parametrize("depth", [40, 5000])
def test_deeply_nested_json_in_retry_overrides_is_a_400(
    manager, failed_sync, nothing_written, depth
):
    body = f'{{"overrides":{{"client":{nested(depth)}}}}}'
    response = manager.post(
        f"{BASE}/{failed_sync.workflow_id}/retry", body, content_type="application/json"
    )
    assert "nested" in assert_refused(response)["detail"]


def test_moderately_nested_overrides_are_validated_like_a_start(
    manager, failed_sync, nothing_written
):
    body = {"overrides": {"platform": json.loads(nested(20))}}
    response = manager.post(f"{BASE}/{failed_sync.workflow_id}/retry", body, format="json")
    assert "platform" in assert_refused(response)


# --- integers beyond the database's range ----------------------------------------------------
@pytest.mark.parametrize("value", [TOO_BIG, -TOO_BIG, 2**63, 10**4000])
@pytest.mark.parametrize(
    ("workflow_type", "body"),
    [
        ("platform-sync", {"organization": "acme", "platform": "ga4"}),
        ("client-offboarding", {"organization": "acme"}),
    ],
)
def test_a_client_id_beyond_the_database_range_is_a_400(
    manager, nothing_written, workflow_type, body, value
):
    raw = json.dumps({**body, "client": "VALUE"}).replace('"VALUE"', str(value))
    response = manager.post(f"{BASE}/{workflow_type}", raw, content_type="application/json")
    assert_refused(response)


@pytest.mark.parametrize(
    ("workflow_type", "body"),
    [
        ("eyes-retrain", {"organization": "acme", "model": "churn", "params": {"epochs": TOO_BIG}}),
        (
            "retention-campaign",
            {"organization": "acme", "name": "x", "channel": "email", "min_churn_risk": 1e308},
        ),
    ],
)
def test_other_numbers_beyond_range_are_a_400(manager, nothing_written, workflow_type, body):
    assert_refused(manager.post(f"{BASE}/{workflow_type}", body, format="json"))


@pytest.mark.parametrize("path", [BASE, "/api/audit/events"])
@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "1e3", " 1", str(TOO_BIG) + "x"])
def test_a_page_that_is_not_a_positive_whole_number_is_a_400(api, manager, path, page):
    assert "page" in assert_refused(manager.get(path, {"page": page}))


@pytest.mark.parametrize("path", [BASE, "/api/audit/events"])
@pytest.mark.parametrize("page", ["2", str(TOO_BIG), str(10**200)])
def test_a_page_past_the_last_is_a_json_404(manager, failed_sync, path, page):
    assert_refused(manager.get(path, {"page": page}), status=404)


@pytest.mark.parametrize("path", [BASE, "/api/audit/events"])
@pytest.mark.parametrize("size", ["0", "-5", "201", str(TOO_BIG), "ten"])
def test_a_page_size_out_of_range_is_a_400(manager, path, size):
    assert "page_size" in assert_refused(manager.get(path, {"page_size": size}))


def test_history_page_size_out_of_range_is_a_400(manager, failed_sync):
    for size in ("0", str(TOO_BIG), "-1", "x"):
        url = f"{BASE}/{failed_sync.workflow_id}/history"
        assert "page_size" in assert_refused(manager.get(url, {"page_size": size}))


@pytest.mark.parametrize(
    "url",
    [
        f"/admin/orchestration/client/{TOO_BIG}/change/",
        f"/admin/orchestration/client/?organization__id__exact={TOO_BIG}",
        f"/admin/orchestration/integration/?client__organization__id__exact={-TOO_BIG}",
        f"/admin/accounts/membership/?organization__id__exact={TOO_BIG}",
        f"/admin/orchestration/workflowrun/?organization__id__exact={TOO_BIG}",
        "/admin/orchestration/workflowrun/not-a-uuid/change/",
        "/admin/orchestration/workflowrun/live/?ids=not-a-uuid",
        f"/admin/orchestration/workflowrun/?created_at__year={TOO_BIG}",
        "/admin/orchestration/workflowrun/?created_at__year=2026&created_at__month=13",
        "/admin/orchestration/workflowrun/?created_at__year=0&created_at__month=1&created_at__day=1",
        "/admin/orchestration/auditevent/?created_at__year=9999&created_at__month=12&created_at__day=31",
        f"/admin/orchestration/workflowrun/?p={TOO_BIG}",
        "/admin/orchestration/workflowrun/?p=-1",
        f"/admin/orchestration/workflowrun/?o={TOO_BIG}",
        "/admin/orchestration/workflowrun/?o=-1.x.999",
        "/admin/orchestration/workflowrun/?within=forever&retrying__exact=maybe",
        "/admin/orchestration/workflowrun/?status__exact=%F0%9F%92%A5",
        f"/admin/orchestration/workflowrun/?started_by__id__exact={TOO_BIG}",
        "/admin/orchestration/auditevent/?action=x&actor=y&outcome__exact=z",
    ],
)
def test_out_of_range_or_malformed_ids_in_admin_urls_are_no_500(admin_client, url):
    admin_client.raise_request_exception = False
    response = admin_client.get(url)
    assert response.status_code in {200, 302, 400, 403, 404}, (url, response.status_code)


def test_an_admin_action_on_malformed_ids_is_a_400(admin_client, failed_sync):
    admin_client.raise_request_exception = False
    response = admin_client.post(
        "/admin/orchestration/workflowrun/",
        {"action": "cancel_runs", "_selected_action": ["not-a-uuid"]},
    )
    assert response.status_code in {302, 400}, response.status_code


# --- a forged history page token ---------------------------------------------------------------
@pytest.mark.temporal
def test_a_forged_history_page_token_is_a_400(live, api, demo_client):
    client = api("acme-viewer")
    client.raise_request_exception = False
    started = api("acme-operator").post(
        f"{BASE}/platform-sync",
        {"organization": "acme", "client": demo_client.pk, "platform": "ga4"},
        format="json",
    )
    assert started.status_code == 202, started.content
    run = wait_for_status(started.json()["workflow_id"], {"COMPLETED"})
    url = f"{BASE}/{run.workflow_id}/history"
    real = client.get(url, {"page_size": 2}).json()["next_page_token"]
    assert real

    garbage = base64.urlsafe_b64encode(b"\x00\xff" * 40).decode()
    forged = [
        f"{garbage}.0",
        "AAAA.0",
        "bm90IGEgdG9rZW4.0",
        "%%%",
        ".",
        "x.-1",
        f"{real.rsplit('.', 1)[0]}.-3",
        f"{real.rsplit('.', 1)[0]}.{TOO_BIG}x",
        "\u00e9\u00e9.1",
        "A" * 20_000 + ".0",
    ]
    for token in forged:
        response = client.get(url, {"page_token": token})
        assert "page_token" in assert_refused(response), token
    # Still fine with the real one.
    assert client.get(url, {"page_token": real}).status_code == 200


# --- NUL characters (PostgreSQL refuses them in text) ----------------------------------------
NUL = "ac\x00me"
NUL_START_BODIES = [
    ("client-onboarding", {"organization": NUL, "client": VALID_CLIENT}),
    ("client-onboarding", {"organization": "acme", "client": {**VALID_CLIENT, "name": NUL}}),
    ("client-onboarding", {"organization": "acme", "client": {**VALID_CLIENT, "email": NUL}}),
    ("client-onboarding", {"organization": "acme", "client": {**VALID_CLIENT, NUL: 1}}),
    (
        "client-onboarding",
        {"organization": "acme", "client": {**VALID_CLIENT, "platforms": [NUL]}},
    ),
    ("platform-sync", {"organization": "acme", "client": NUL, "platform": "ga4"}),
    ("platform-sync", {"organization": "acme", "client": 1, "platform": NUL}),
    ("eyes-retrain", {"organization": "acme", "model": NUL}),
    ("eyes-retrain", {"organization": "acme", "model": "churn", "params": {NUL: 1}}),
    (
        "retention-campaign",
        {"organization": "acme", "name": NUL, "channel": "email", "min_churn_risk": 0.5},
    ),
    (
        "retention-campaign",
        {"organization": "acme", "name": "x", "channel": NUL, "min_churn_risk": 0.5},
    ),
    ("client-offboarding", {"organization": NUL, "client": 1}),
    ("client-offboarding", {"organization": "acme", "client": NUL}),
]


@pytest.mark.parametrize(("workflow_type", "body"), NUL_START_BODIES)
def test_a_nul_character_in_a_start_body_is_a_400(manager, nothing_written, workflow_type, body):
    assert_refused(manager.post(f"{BASE}/{workflow_type}", body, format="json"))


@pytest.mark.parametrize(
    "body",
    [
        {"overrides": {"platform": NUL}},
        {"overrides": {"client": NUL}},
        {"overrides": {NUL: "x"}},
        {"overrides": {"organization": NUL}},
        {NUL: {}},
    ],
)
def test_a_nul_character_in_a_retry_is_a_400(manager, failed_sync, nothing_written, body):
    url = f"{BASE}/{failed_sync.workflow_id}/retry"
    assert_refused(manager.post(url, body, format="json"))


def test_a_nul_character_in_a_terminate_reason_is_a_400(manager, failed_sync, nothing_written):
    url = f"{BASE}/{failed_sync.workflow_id}/terminate"
    assert "reason" in assert_refused(manager.post(url, {"reason": NUL}, format="json"))


def test_a_nul_character_in_a_form_body_is_a_400(manager, nothing_written):
    body = {"organization": NUL, "name": "x", "channel": "email", "min_churn_risk": "0.5"}
    assert_refused(manager.post(f"{BASE}/retention-campaign", body))  # multipart
    token = APIClient(raise_request_exception=False).post(
        "/api/auth/token", {"username": NUL, "password": NUL}
    )
    assert_refused(token)


@pytest.mark.parametrize(
    "query",
    [
        {"search": NUL},
        {"organization": NUL},
        {"started_by": NUL},
        {"status": NUL},
        {"workflow_type": NUL},
        {"ordering": NUL},
        {"created_after": NUL},
        {"retrying": NUL},
        {"page": NUL},
        {"page_size": NUL},
        {NUL: "x"},
    ],
)
def test_a_nul_character_in_a_list_query_is_a_400(manager, query):
    assert_refused(manager.get(BASE, query))


@pytest.mark.parametrize(
    "query", [{"organization": NUL}, {"action": NUL}, {"actor": NUL}, {"run": NUL}]
)
def test_a_nul_character_in_an_audit_query_is_a_400(manager, query):
    assert_refused(manager.get("/api/audit/events", query))


def test_a_nul_character_in_a_header_or_path_is_a_400(api, manager, nothing_written):
    body = {"organization": "acme", "model": "churn"}
    response = manager.post(f"{BASE}/eyes-retrain", body, format="json", HTTP_IDEMPOTENCY_KEY=NUL)
    assert "Idempotency-Key" in assert_refused(response)["detail"]
    assert_refused(manager.get(BASE, HTTP_X_REQUEST_ID=NUL))
    anonymous = APIClient(raise_request_exception=False)
    assert_refused(anonymous.get(BASE, HTTP_AUTHORIZATION=f"Token {NUL}"))
    assert_refused(anonymous.get(BASE, HTTP_COOKIE=f"sessionid={NUL}"))
    assert_refused(manager.get(f"{BASE}/x%00y/status"))
    assert_refused(manager.get("/api/temporal/workflows/%00"))


ADMIN_LISTS = [
    "/admin/orchestration/workflowrun/",
    "/admin/orchestration/auditevent/",
    "/admin/orchestration/client/",
    "/admin/orchestration/integration/",
    "/admin/orchestration/campaign/",
    "/admin/accounts/membership/",
    "/admin/accounts/organization/",
]


@pytest.fixture
def admin_manager(users):
    client = DjangoClient(raise_request_exception=False)
    client.force_login(users["acme-manager"])
    return client


@pytest.mark.parametrize("url", ADMIN_LISTS)
@pytest.mark.parametrize(
    "query",
    [
        {"q": NUL},
        {"status": NUL},
        {"workflow_type__exact": NUL},
        {"organization__id__exact": NUL},
        {"started_by": NUL},
        {NUL: "1"},
    ],
)
def test_a_nul_character_in_an_admin_filter_or_search_is_a_400(
    admin_client, admin_manager, url, query
):
    for client in (admin_client, admin_manager):
        client.raise_request_exception = False
        response = client.get(url, query)
        assert response.status_code == 400, (url, query, response.status_code)
        assert b"NUL" in response.content


def test_a_nul_character_in_an_admin_form_is_a_400(admin_manager, nothing_written):
    response = admin_manager.post(
        "/admin/orchestration/workflowrun/start/retention-campaign/",
        {"organization": NUL, "name": "x", "channel": "email", "min_churn_risk": "0.5"},
    )
    assert response.status_code == 400 and b"NUL" in response.content


# --- too many parameters, overlong searches, oversized bodies ---------------------------------
MANY = "&".join(f"p{i}=1" for i in range(1100))


@pytest.mark.parametrize("path", [BASE, "/api/audit/events", "/api/temporal/configuration"])
def test_more_than_a_thousand_query_parameters_is_a_400(manager, path):
    detail = assert_refused(manager.get(f"{path}?{MANY}"))["detail"]
    assert "query parameters" in detail


def test_more_than_a_thousand_form_fields_is_a_400(manager, nothing_written):
    response = manager.post(
        f"{BASE}/retention-campaign", MANY, content_type="application/x-www-form-urlencoded"
    )
    assert "form fields" in assert_refused(response)["detail"]


@pytest.mark.parametrize("url", ADMIN_LISTS)
def test_more_than_a_thousand_admin_query_parameters_is_a_400(admin_client, url):
    admin_client.raise_request_exception = False
    response = admin_client.get(f"{url}?{MANY}")
    assert response.status_code == 400 and b"query parameters" in response.content


def test_more_than_a_thousand_admin_form_fields_is_a_400(admin_manager, nothing_written):
    response = admin_manager.post(
        "/admin/orchestration/workflowrun/start/retention-campaign/",
        MANY,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400 and b"form fields" in response.content


LONG = "%_" * 30_000  # 60 KB, and a LIKE pattern SQLite calls too complex


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (BASE, "search"),
        (BASE, "organization"),
        (BASE, "started_by"),
        ("/api/audit/events", "actor"),
        ("/api/audit/events", "action"),
        ("/api/audit/events", "run"),
        ("/api/audit/events", "organization"),
    ],
)
def test_a_60_kb_filter_value_is_a_400(manager, failed_sync, path, name):
    body = assert_refused(manager.get(path, {name: LONG}))
    assert "200 characters" in json.dumps(body)
    assert manager.get(path, {name: "x" * 200}).status_code == 200


@pytest.mark.parametrize("url", ADMIN_LISTS)
def test_a_60_kb_admin_search_is_a_400(admin_client, admin_manager, failed_sync, url):
    for client in (admin_client, admin_manager):
        client.raise_request_exception = False
        response = client.get(url, {"q": LONG})
        assert response.status_code == 400 and b"200 characters" in response.content
    assert admin_client.get(url, {"q": "%_" * 100}).status_code == 200


def test_a_body_larger_than_the_limit_is_a_413(manager, nothing_written, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = json.dumps({"organization": "acme", "name": "x" * 20_000, "channel": "email"})
    response = manager.post(f"{BASE}/retention-campaign", big, content_type="application/json")
    assert "larger than" in assert_refused(response, status=413)["detail"]
    form = manager.post(
        f"{BASE}/retention-campaign",
        f"name={'x' * 20_000}",
        content_type="application/x-www-form-urlencoded",
    )
    assert_refused(form, status=413)


# --- everything else a client may send ---------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/nope"),
        ("get", "/api/temporal/nope/"),
        ("post", "/api/temporal/workflows/no-such-type/extra"),
        ("get", "/api/temporal/workflows/a/b/c"),
        ("delete", "/api/"),
        ("get", "/api/schema/?format=xml"),
    ],
)
def test_an_unknown_api_path_is_a_json_404(manager, method, path):
    assert_refused(getattr(manager, method)(path), status=404)


@pytest.mark.parametrize("suffix", ["status", "history", "cancel", "terminate", "retry"])
def test_an_unknown_or_malformed_run_id_is_a_json_404(manager, suffix):
    for workflow_id in ("nope", "0" * 200, "platform-sync-" + "9" * 40, "...", "-"):
        url = f"{BASE}/{workflow_id}/{suffix}"
        response = manager.get(url) if suffix in {"status", "history"} else manager.post(url)
        assert_refused(response, status=404)


@pytest.mark.parametrize(
    "query",
    [
        {"ordering": "password"},
        {"ordering": "-organization__slug"},
        {"ordering": ",,,"},
        {"ordering": "status,"},
        {"status": "DONE"},
        {"workflow_type": "nope"},
        {"created_after": "yesterday"},
        {"created_after": "2026-13-45T00:00:00Z"},
        {"created_after": "0001-01-01T00:00:00+05:00"},
        {"created_before": "9999-12-31T23:59:59-05:00"},
        {"created_before": "99999-01-01"},
    ],
)
def test_malformed_filters_are_a_400(manager, failed_sync, query):
    assert_refused(manager.get(BASE, query))


@pytest.mark.parametrize("path", [BASE, "/api/audit/events"])
@pytest.mark.parametrize(
    "time", ["2000-01-01T00:00:00-21:43", "2000-01-01T00:00:00+23:59", "9999-12-31T00:00:00Z"]
)
def test_times_with_any_offset_python_accepts_filter(manager, failed_sync, path, time):
    # PostgreSQL refuses offsets beyond 15:59: the filter compares in UTC.
    for name in ("created_after", "created_before"):
        assert manager.get(path, {name: time}).status_code == 200, (name, time)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/json"),
        (b"null", "application/json"),
        (b"[]", "application/json"),
        (b'"acme"', "application/json"),
        (b"42", "application/json"),
        (b"{", "application/json"),
        (b'{"organization": NaN}', "application/json"),
        (b'{"organization": "\xff\xfe"}', "application/json"),
        (b'{"organization": "acme", "organization": 1}', "application/json"),
        (b"hello", "text/plain"),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        (b"x", "multipart/form-data"),
    ],
)
def test_bodies_of_the_wrong_shape_are_refused(manager, nothing_written, body, content_type):
    response = manager.post(f"{BASE}/eyes-retrain", body, content_type=content_type)
    assert response.status_code in {400, 415}, response.content
    assert_refused(response, status=response.status_code)


def test_an_overlong_idempotency_key_or_organization_is_a_400_or_accepted_bounded(
    manager, nothing_written
):
    response = manager.post(
        f"{BASE}/eyes-retrain",
        {"organization": "a" * 100_000, "model": "churn"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k" * 10_000,
    )
    assert "organization" in assert_refused(response)


@pytest.mark.parametrize(
    "organization", [b"\xff\xfe", "\u00b2".encode(), b"9" * 40, "\u0661".encode(), b"\x00"]
)
def test_a_forged_organization_in_a_payload_to_decode_is_refused(manager, organization):
    from orchestration.temporal.codec import ENCODING, ORGANIZATION

    def encoded(value: bytes) -> str:
        return base64.b64encode(value).decode()

    metadata = {"encoding": encoded(ENCODING), ORGANIZATION: encoded(organization)}
    body = {"payloads": [{"metadata": metadata, "data": encoded(b"x")}]}
    response = manager.post("/api/temporal/codec/decode", body, format="json")
    assert_refused(response, status=403)


# --- the schema says so ------------------------------------------------------------------------
def test_the_schema_documents_the_answers_and_shapes_the_api_gives(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    for name in (
        "ClientOnboardingStartRequest",
        "NewClientRequest",
        "EyesRetrainStartRequest",
        "EyesParamsRequest",
        "TerminateRequest",
        "RetryRequest",
    ):
        assert components[name]["additionalProperties"] is False, name
    run = components["WorkflowRun"]["properties"]
    for field in ("started_by", "cancel_requested_by", "retry_of", "started_at", "result"):
        assert run[field].get("nullable"), field
    assert components["AuditEvent"]["properties"]["organization"].get("nullable")

    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"400", "503"} <= set(responses), (method, path)
            if "{" in path:
                assert "application/json" in responses["404"]["content"], (method, path)
            if "requestBody" in operation:
                assert "413" in responses, (method, path)
    listing = schema["paths"]["/api/temporal/workflows"]["get"]
    parameters = {parameter["name"]: parameter for parameter in listing["parameters"]}
    assert parameters["page"]["schema"]["minimum"] == 1
    assert parameters["page_size"]["schema"]["maximum"] == 200
    assert parameters["search"]["allowEmptyValue"] is True
    assert "404" in listing["responses"]
