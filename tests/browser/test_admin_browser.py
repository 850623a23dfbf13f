"""The admin console in a real browser, served the way `make run` serves it: styled, live
without reloads, with actions on the run page. Runs execute for real on the suite's Temporal
server and worker, and the assertions are about what a person sees on the page."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import RUN_LIST

pytestmark = pytest.mark.temporal

API = "/api/temporal/workflows"
LONG_RETRAIN = {"organization": "acme", "model": "churn", "params": {"epochs": 1_000_000}}


# --- helpers --------------------------------------------------------------------------------
def login(page: Page, username: str, password: str = "pw") -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(username)


def status_of(page: Page):
    return page.locator("#run-live .run-status")


def start(api, username: str, workflow_type: str, body: dict) -> dict:
    response = api(username).post(f"{API}/{workflow_type}", body, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def onboarding(email: str) -> dict:
    return {
        "organization": "acme",
        "client": {"name": "Initech", "email": email, "platforms": ["ga4"]},
    }


def run_url(workflow_id: str) -> str:
    from orchestration.models import WorkflowRun

    return f"{RUN_LIST}{WorkflowRun.objects.get(workflow_id=workflow_id).pk}/change/"


def epoch_of(page: Page) -> int:
    text = page.locator("#current-activity .heartbeat-details").inner_text()
    match = re.search(r"epoch (\d+)/", text)
    return int(match.group(1)) if match else -1


# --- styled, under the real server ------------------------------------------------------------
def test_admin_is_styled_and_api_docs_render_under_the_real_server(page, users):
    login(page, "acme-manager")
    # Django's admin stylesheet paints the header; the console's own colours the statuses.
    header = page.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor")
    assert header == "rgb(65, 118, 144)", header
    page.goto(RUN_LIST)
    color = page.evaluate("getComputedStyle(document.querySelector('.object-tools')).display")
    assert color == "flex"  # console.css laid the start buttons out
    assert page.evaluate("typeof window.htmx") == "object"

    page.goto("/api/docs/")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible(timeout=15_000)
    assert operations.count() >= 10
    expect(page.locator("#swagger-ui")).to_contain_text("/api/temporal/workflows")


# --- the run page, live -------------------------------------------------------------------------
def test_manager_watches_an_onboarding_complete_without_reloading(page, api, navigations):
    login(page, "acme-manager")
    started = start(api, "acme-manager", "client-onboarding", onboarding("live@initech.example"))
    page.goto(run_url(started["workflow_id"]))
    navigations.reset()

    expect(status_of(page)).to_have_text("Completed", timeout=30_000)
    expect(page.locator(".stepper .step-done")).to_have_count(3)
    expect(page.locator("#timeline")).to_contain_text("create_client_dashboard")
    expect(page.locator("#timeline")).to_contain_text("run completed")
    expect(page.locator("#records")).to_contain_text("Initech")
    expect(page.locator("#result")).to_contain_text("dashboard_id")
    expect(page.locator("#audit")).to_contain_text("workflow.status")
    expect(page.locator(".run-action-retry")).to_have_text("Run again")
    assert navigations.count == 0
    # Once terminal, the region follows nothing (the stream's last event closed it).
    assert page.locator("#run-live[sse-swap]").count() == 0


def test_a_long_retrain_shows_its_heartbeat_advancing_without_reloading(
    page, api, demo_client, navigations
):
    login(page, "acme-manager")
    started = start(api, "acme-manager", "eyes-retrain", LONG_RETRAIN)
    page.goto(run_url(started["workflow_id"]))
    navigations.reset()

    details = page.locator("#current-activity .heartbeat-details")
    expect(details).to_contain_text(re.compile(r"epoch \d+/1000000"), timeout=20_000)
    first = epoch_of(page)
    page.wait_for_function(
        f"""() => {{
            const m = document.querySelector('#current-activity .heartbeat-details')
                ?.textContent.match(/epoch (\\d+)\\//);
            return m && Number(m[1]) > {first};
        }}""",
        timeout=15_000,
    )
    expect(page.locator("#current-activity .current-attempt")).to_have_text("1 of 2")
    expect(page.locator(".stepper .step-current")).to_contain_text("retrain_eyes_model")
    assert navigations.count == 0


def test_manager_cancels_a_long_retrain_from_its_page_and_sees_it_canceled(
    page, api, demo_client, navigations
):
    login(page, "acme-manager")
    started = start(api, "acme-manager", "eyes-retrain", LONG_RETRAIN)
    page.goto(run_url(started["workflow_id"]))
    expect(page.locator("#current-activity .heartbeat-details")).to_contain_text(
        "epoch", timeout=20_000
    )

    page.locator(".run-action-cancel").click()
    expect(page.locator("body.confirm-run-action")).to_be_visible()
    expect(page.locator(".run-action-targets")).to_contain_text(started["workflow_id"])
    page.get_by_role("button", name="Yes, cancel").click()
    expect(page).to_have_url(re.compile(re.escape(run_url(started["workflow_id"])) + "$"))
    expect(page.locator(".messagelist .success")).to_contain_text("cancellation requested")
    navigations.reset()

    expect(status_of(page)).to_have_text("Canceled", timeout=20_000)
    expect(page.locator(".run-cancel-requested")).to_contain_text("acme-manager")
    expect(page.locator("#audit")).to_contain_text("workflow.cancel")
    expect(page.locator(".stepper .step-canceled")).to_have_count(1)
    expect(page.locator(".run-action-cancel")).to_have_count(0)
    assert navigations.count == 0


def test_manager_terminates_with_a_reason_and_retries_from_the_run_page(page, api, demo_client):
    login(page, "acme-manager")
    started = start(api, "acme-manager", "eyes-retrain", LONG_RETRAIN)
    page.goto(run_url(started["workflow_id"]))
    expect(page.locator(".run-action-terminate")).to_be_visible(timeout=10_000)

    page.locator(".run-action-terminate").click()
    expect(page.locator("#id_reason")).to_have_attribute("required", "")
    page.fill("#id_reason", "wrong model")
    page.get_by_role("button", name="Yes, terminate").click()
    expect(status_of(page)).to_have_text("Terminated", timeout=10_000)

    page.locator(".run-action-retry").click()
    page.get_by_role("button", name="Yes, retry").click()
    # The retry's own page, linked back to the run it retries.
    expect(page.locator("#lineage")).to_contain_text(started["workflow_id"])
    expect(page.locator(".messagelist .success")).to_contain_text("retried as")
    assert started["workflow_id"] not in page.url


def test_viewer_is_offered_no_action(page, api):
    started = start(api, "acme-operator", "client-onboarding", onboarding("v@initech.example"))
    login(page, "acme-viewer")
    page.goto(run_url(started["workflow_id"]))
    expect(page.locator("#run-live")).to_be_visible()
    expect(page.locator(".run-action")).to_have_count(0)
    page.goto(RUN_LIST)
    expect(page.locator("#result_list")).to_contain_text(started["workflow_id"][-36:][:8])
    expect(page.locator("select[name=action]")).to_have_count(0)
    expect(page.locator(".object-tools a", has_text="Start")).to_have_count(0)
    response = page.goto("/admin/orchestration/workflowrun/start/client-onboarding/")
    assert response.status == 403


def test_operator_is_not_offered_cancel_on_a_retrain(page, api, demo_client):
    started = start(api, "acme-manager", "eyes-retrain", LONG_RETRAIN)
    login(page, "acme-operator")
    page.goto(run_url(started["workflow_id"]))
    expect(page.locator("#run-live .run-status")).to_have_text("Running")
    expect(page.locator(".run-action")).to_have_count(0)


# --- the run list and the overview ---------------------------------------------------------------
def test_run_list_follows_open_runs_and_fits_a_laptop_screen(page, api, demo_client, navigations):
    # A run that fails with a long message, for the error column.
    start(api, "acme-manager", "client-onboarding", onboarding(demo_client.email))
    started = start(api, "acme-manager", "eyes-retrain", LONG_RETRAIN)
    login(page, "acme-manager")
    page.goto(RUN_LIST)
    navigations.reset()
    row = page.locator("#result_list tbody tr", has_text=started["workflow_id"][-36:][:8])
    expect(row.locator(".run-status")).to_have_text("Running")
    expect(row.locator("[id$='-step']")).to_have_text("retrain_eyes_model", timeout=10_000)

    cancel = api("acme-manager").post(f"{API}/{started['workflow_id']}/cancel")
    assert cancel.status_code == 202
    expect(row.locator(".run-status")).to_have_text("Canceled", timeout=20_000)
    expect(row.locator("[id$='-step']")).to_have_text("")  # blank once terminal
    assert navigations.count == 0
    failed = page.locator("#result_list .run-error", has_text="already exists in Acme Corp")
    expect(failed).to_be_visible()

    # The full id is on hover and in the copy button.
    expect(row.locator(".run-id")).to_have_attribute("title", started["workflow_id"])
    expect(row.locator("[data-copy]")).to_have_attribute("data-copy", started["workflow_id"])
    overflow = page.evaluate(
        "(() => { const r = document.querySelector('#changelist .results');"
        " return [r.scrollWidth, r.clientWidth, document.documentElement.scrollWidth,"
        " window.innerWidth]; })()"
    )
    assert overflow[0] <= overflow[1] and overflow[2] <= overflow[3], overflow


def test_overview_counts_link_to_the_filtered_list(page, api, demo_client):
    failing = onboarding(demo_client.email)  # the demo client's e-mail: validation fails
    started = start(api, "acme-manager", "client-onboarding", failing)
    login(page, "acme-manager")
    page.goto("/admin/")
    for _ in range(30):
        if started["workflow_id"][-36:][:8] in page.locator("#overview-acme").inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator("#overview-acme .overview-failures")).to_contain_text(
        "already exists in Acme Corp"
    )
    page.locator("#overview-acme .overview-counts a").first.click()
    expect(page.locator("#result_list")).to_contain_text(started["workflow_id"][-36:][:8])
    expect(page.locator("#changelist-filter")).to_contain_text("the last 24 hours")


def test_other_organization_sees_none_of_acmes_runs(page, api):
    started = start(api, "acme-operator", "client-onboarding", onboarding("iso@initech.example"))
    login(page, "globex-manager")
    page.goto(RUN_LIST)
    expect(page.locator("#content")).to_contain_text("0 workflow runs")
    response = page.goto(run_url(started["workflow_id"]))
    assert response.status == 404
