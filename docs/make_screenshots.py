"""`make screenshots`: the README's pictures, taken from `make run`'s own stack.

Starts `manage.py run_console` (Temporal dev server, worker, uvicorn) on free ports with its
data in var/screenshots/, starts an onboarding, a failing onboarding and a long EYES retrain
as acme-manager, and saves the overview, the run list and the running retrain's page as PNGs
in docs/ with headless Chromium (Debian's, never a downloaded one). Stops everything after.
"""

import json
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.stack import DEMO_PASSWORD as PASSWORD  # noqa: E402
from tests.stack import ConsoleStack  # noqa: E402

DOCS = ROOT / "docs"
VIEWPORT = {"width": 1366, "height": 900}


def log(message: str) -> None:
    print(f"[screenshots] {message}", flush=True)


def api(base: str, method: str, path: str, token: str | None = None, body=None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.load(response)


def start_runs(base: str) -> str:
    """A finished onboarding, a failed one, a finished retrain and a long one; returns the
    long retrain's workflow id."""
    token = api(
        base, "POST", "/api/auth/token", body={"username": "acme-manager", "password": PASSWORD}
    )["token"]
    onboarding = {"name": "Initech", "email": "ops@initech.example", "platforms": ["ga4"]}
    copycat = {**onboarding, "name": "Copycat", "email": "demo@acme.example"}  # already taken
    starts = [
        ("client-onboarding", {"client": onboarding}),
        ("client-onboarding", {"client": copycat}),
        ("eyes-retrain", {"model": "clustering"}),
        ("eyes-retrain", {"model": "churn", "params": {"epochs": 1_000_000}}),
    ]
    for workflow_type, body in starts:
        started = api(
            base,
            "POST",
            f"/api/temporal/workflows/{workflow_type}",
            token,
            {"organization": "acme", **body},
        )
    return started["workflow_id"]


def take(base: str, retrain_id: str) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("No chromium on PATH (apt-get install chromium).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport=VIEWPORT, base_url=base)
        page.goto("/admin/login/")
        page.fill("#id_username", "acme-manager")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#overview-acme")
        time.sleep(3)  # let the short runs finish, so the overview has something to say
        page.reload()
        page.screenshot(path=str(DOCS / "overview.png"), full_page=True)
        log("docs/overview.png")
        page.goto("/admin/orchestration/workflowrun/")
        page.wait_for_selector("#result_list")
        page.screenshot(path=str(DOCS / "run-list.png"), full_page=True)
        log("docs/run-list.png")
        # The list shows a run by its type and the start of its uuid, the workflow id's end
        # (`<type>-<organization id>-<uuid>`).
        short_id = retrain_id.split("-")[-5][:8]
        page.locator("#result_list a", has_text=short_id).click()
        page.wait_for_function(
            "document.querySelector('.heartbeat-details')?.textContent.includes('epoch')",
            timeout=30_000,
        )
        page.screenshot(path=str(DOCS / "run-page.png"), full_page=True)
        log("docs/run-page.png")
        browser.close()


def main() -> None:
    (ROOT / "var").mkdir(exist_ok=True)
    var_dir = Path(tempfile.mkdtemp(prefix="omnify-screenshots-", dir=ROOT / "var"))
    log(f"starting make run's stack in {var_dir}")
    try:
        with ConsoleStack(var_dir) as stack:
            log(f"console at {stack.base_url}; starting runs")
            retrain_id = start_runs(stack.base_url)
            take(stack.base_url, retrain_id)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    log("done")


if __name__ == "__main__":
    main()
