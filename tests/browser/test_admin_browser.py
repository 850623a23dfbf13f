"""The admin console in a real browser: managers start, watch, retry and cancel runs; viewers
only look; another organization sees nothing. Runs execute for real on the suite's Temporal
server and worker, and the assertions are about what a person sees on the page."""

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import RUN_LIST

pytestmark = pytest.mark.temporal

API = "/api/temporal/workflows"


# --- helpers --------------------------------------------------------------------------------
def login(page: Page, live_server, username: str, password: str = "pw") -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(username)


def status_of(page: Page):
    return page.locator(".field-status_badge .run-status")


def reload_until_status(page: Page, label: str, timeout: float = 30) -> None:
    """Reload the run's page until its status badge reads `label`."""
    deadline = time.monotonic() + timeout
    while True:
        if status_of(page).inner_text().strip() == label:
            return
        if time.monotonic() > deadline:
            expect(status_of(page)).to_have_text(label, timeout=1)  # fails with what it shows
        time.sleep(0.3)
        page.reload()


def reload_until(page: Page, locator_selector: str, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        locator = page.locator(locator_selector)
        if locator.count() and text in locator.first.inner_text():
            return
        if time.monotonic() > deadline:
            expect(locator.first).to_contain_text(text, timeout=1)
        time.sleep(0.3)
        page.reload()


def start_from_start_page(page: Page, workflow_type: str, fill) -> str:
    """From the run list, click "Start <type>", fill the form, submit; return the workflow id
    the success message names (the browser is on the run's page)."""
    page.goto(RUN_LIST)
    page.get_by_role("link", name=f"Start {workflow_type}", exact=True).click()
    expect(page.locator(f"form#start-{workflow_type}")).to_be_visible()
    page.select_option("#id_organization", "acme")
    fill(page)
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/orchestration/workflowrun/[0-9a-f-]+/change/"))
    message = page.locator(".messagelist .success").first
    expect(message).to_contain_text("Started ")
    return re.search(r"Started (\S+)\.", message.inner_text()).group(1)


def run_action(page: Page, workflow_id: str, action_label: str, verb: str) -> None:
    """In the run list tick the run's row, choose the action, Go, and confirm."""
    page.goto(RUN_LIST)
    row = page.locator("#result_list tbody tr", has_text=workflow_id)
    expect(row).to_have_count(1)
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", label=action_label)
    page.get_by_role("button", name="Go").click()
    expect(page.locator("body.confirm-run-action")).to_be_visible()
    expect(page.locator("#content")).to_contain_text(f"Do you want to {verb} this run?")
    expect(page.locator(".run-action-targets")).to_contain_text(workflow_id)
    page.get_by_role("button", name=f"Yes, {verb}").click()
    expect(page).to_have_url(re.compile(re.escape(RUN_LIST) + r"$"))


def api_start_onboarding(api, username: str, email: str) -> dict:
    body = {
        "organization": "acme",
        "client": {"name": "Initech", "email": email, "platforms": ["ga4"]},
    }
    response = api(username).post(f"{API}/client-onboarding", body, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def said(text: str) -> re.Pattern:
    """A message as the admin shows it: its first letter capitalized (`capfirst`)."""
    return re.compile(re.escape(text), re.IGNORECASE)


def change_url(workflow_id: str) -> str:
    from orchestration.models import WorkflowRun

    pk = WorkflowRun.objects.get(workflow_id=workflow_id).pk
    return f"{RUN_LIST}{pk}/change/"


# --- scenarios ------------------------------------------------------------------------------
def test_manager_starts_an_onboarding_and_watches_it_complete(page, live_server, users):
    login(page, live_server, "acme-manager")
    page.get_by_role("link", name="Workflow runs").first.click()
    expect(page).to_have_url(re.compile(re.escape(RUN_LIST)))

    def fill(page):
        page.fill("#id_name", "Initech")
        page.fill("#id_email", "ops@initech.example")
        page.check("input[name=platforms][value=ga4]")

    workflow_id = start_from_start_page(page, "client-onboarding", fill)
    expect(page.locator("#content")).to_contain_text(workflow_id)

    reload_until_status(page, "Completed", timeout=30)
    history = page.locator("#history tbody tr")
    expect(history.first).to_be_visible()
    assert history.count() > 3
    expect(page.locator("#history")).to_contain_text("WorkflowExecutionCompleted")
    audit = page.locator("#audit tbody")
    expect(audit).to_contain_text("workflow.start")
    expect(audit).to_contain_text("acme-manager")
    expect(page.locator(".field-started_by")).to_contain_text("acme-manager")


def test_manager_retries_a_failed_run_from_the_list(page, live_server, users, demo_client):
    login(page, live_server, "acme-manager")

    def fill(page):  # the demo client's e-mail: validation fails the run
        page.fill("#id_name", "Copycat")
        page.fill("#id_email", demo_client.email)
        page.check("input[name=platforms][value=ga4]")

    workflow_id = start_from_start_page(page, "client-onboarding", fill)
    original_page = page.url
    reload_until_status(page, "Failed", timeout=30)
    expect(page.locator(".field-error")).to_contain_text("already exists in Acme Corp")

    run_action(page, workflow_id, "Retry selected runs with the same input", "retry")
    message = page.locator(".messagelist .success")
    expect(message).to_contain_text(said(f"{workflow_id}: retried as "))
    new_id = re.search(r"retried as (\S+) \(", message.inner_text()).group(1)
    assert new_id != workflow_id
    expect(page.locator("#result_list")).to_contain_text(new_id)

    page.goto(original_page)
    retry_link = page.locator("#retries a", has_text=new_id)
    expect(retry_link).to_have_count(1)
    expect(page.locator("#retries")).to_contain_text("by acme-manager")
    retry_link.click()
    expect(page.locator(".field-workflow_id")).to_contain_text(new_id)
    expect(page.locator(".field-retry_of")).to_contain_text(workflow_id)


def test_manager_cancels_a_running_retrain(page, live_server, users, demo_client):
    login(page, live_server, "acme-manager")

    def fill(page):
        page.select_option("#id_model", "churn")
        page.fill("#id_epochs", "1000000")

    workflow_id = start_from_start_page(page, "eyes-retrain", fill)
    run_page = page.url
    # Cancel once the person sees it training, as they would.
    reload_until(page, ".field-current_step", "retrain_eyes_model", timeout=20)
    expect(status_of(page)).to_have_text("Running")

    run_action(page, workflow_id, "Cancel selected runs", "cancel")
    expect(page.locator(".messagelist .success")).to_contain_text(
        said(f"{workflow_id}: cancellation requested.")
    )

    page.goto(run_page)
    reload_until_status(page, "Canceled", timeout=20)
    expect(page.locator(".field-cancel_requested_by")).to_contain_text("acme-manager")
    expect(page.locator("#audit tbody")).to_contain_text("workflow.cancel")


def test_viewer_sees_runs_but_no_actions_or_start_links(page, live_server, api):
    started = api_start_onboarding(api, "acme-operator", "viewer-case@initech.example")
    login(page, live_server, "acme-viewer")
    page.goto(RUN_LIST)
    expect(page.locator("#result_list")).to_contain_text(started["workflow_id"])
    expect(page.locator("select[name=action]")).to_have_count(0)
    expect(page.locator("input.action-select")).to_have_count(0)
    expect(page.locator(".object-tools a", has_text="Start")).to_have_count(0)

    page.locator("#result_list a", has_text=started["workflow_id"]).click()
    expect(page.locator(".field-started_by")).to_contain_text("acme-operator")

    response = page.goto("/admin/orchestration/workflowrun/start/client-onboarding/")
    assert response.status == 403


def test_other_organization_sees_none_of_acmes_runs(page, live_server, api):
    started = api_start_onboarding(api, "acme-operator", "isolation@initech.example")
    login(page, live_server, "globex-manager")
    page.goto(RUN_LIST)
    expect(page.locator("#content")).to_contain_text("0 workflow runs")
    expect(page.locator("#content")).not_to_contain_text(started["workflow_id"])
    expect(page.locator("#result_list")).to_have_count(0)

    response = page.goto(change_url(started["workflow_id"]))
    assert response.status == 404
