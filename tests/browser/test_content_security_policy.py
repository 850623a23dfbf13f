"""The Content-Security-Policy holds everywhere a person goes, and breaks nothing: no page of
the admin or the API docs triggers a violation, and Swagger UI still renders its operations."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import RUN_LIST
from tests.browser.test_admin_browser import login, onboarding, run_url, start

pytestmark = pytest.mark.temporal


def test_no_page_violates_the_policy(page, api, users):
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    response = page.goto("/admin/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    login(page, "acme-manager")
    started = start(api, "acme-manager", "client-onboarding", onboarding("csp@initech.example"))
    for path in (
        "/admin/",
        RUN_LIST,
        run_url(started["workflow_id"]),
        "/admin/orchestration/workflowrun/start/client-onboarding/",
        "/admin/orchestration/client/",
        "/api/docs/",
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    expect(page.locator("#swagger-ui")).to_contain_text("/api/temporal/workflows")
    page.goto(run_url(started["workflow_id"]))
    expect(page.locator("#run-live .run-status")).to_have_text("Completed", timeout=30_000)
    assert violations == []
