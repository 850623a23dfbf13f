"""`make screenshots`: the README's pictures, taken from `make run`'s own stack.

Starts `manage.py run_console` (Temporal dev server, worker, uvicorn) on free ports with its
data in var/screenshots/, starts an onboarding, a failing onboarding and a long EYES retrain
as acme-manager, and saves the overview, the run list and the running retrain's page as PNGs
in docs/ with headless Chromium (Debian's, never a downloaded one). Stops everything after.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from orchestration.temporal.devserver import free_port  # noqa: E402

DOCS = ROOT / "docs"
PASSWORD = "omnify-demo"
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


def start_stack(var_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "omnify.settings.local",
        "OMNIFY_VAR_DIR": str(var_dir),
        "OMNIFY_PORT": str(port),
        "TEMPORAL_PORT": str(free_port()),
        "TEMPORAL_UI_PORT": str(free_port()),
        "DEMO_PASSWORD": PASSWORD,
    }
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (["migrate", "-v0"], ["seed_demo"]):
        subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True, capture_output=True)
    stack = subprocess.Popen(
        [*manage, "run_console"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    output, deadline = "", time.monotonic() + 120
    while "Omnify Console is running" not in output:
        if stack.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"run_console did not come up:\n{output}")
        output += stack.stdout.readline()
    return stack, f"http://127.0.0.1:{port}"


def start_runs(base: str) -> str:
    token = api(
        base, "POST", "/api/auth/token", body={"username": "acme-manager", "password": PASSWORD}
    )["token"]
    runs = "/api/temporal/workflows"
    api(
        base,
        "POST",
        f"{runs}/client-onboarding",
        token,
        {
            "organization": "acme",
            "client": {"name": "Initech", "email": "ops@initech.example", "platforms": ["ga4"]},
        },
    )
    api(
        base,
        "POST",
        f"{runs}/client-onboarding",
        token,
        {
            "organization": "acme",
            "client": {"name": "Copycat", "email": "demo@acme.example", "platforms": ["ga4"]},
        },
    )
    api(
        base, "POST", f"{runs}/eyes-retrain", token, {"organization": "acme", "model": "clustering"}
    )
    retrain = api(
        base,
        "POST",
        f"{runs}/eyes-retrain",
        token,
        {"organization": "acme", "model": "churn", "params": {"epochs": 1_000_000}},
    )
    return retrain["workflow_id"]


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
        page.locator(
            "#result_list a", has_text=retrain_id.removeprefix("eyes-retrain-")[:8]
        ).click()
        page.wait_for_function(
            "document.querySelector('.heartbeat-details')?.textContent.includes('epoch')",
            timeout=30_000,
        )
        page.screenshot(path=str(DOCS / "run-page.png"), full_page=True)
        log("docs/run-page.png")
        browser.close()


def main() -> None:
    var_dir = Path(tempfile.mkdtemp(prefix="omnify-screenshots-", dir=ROOT / "var"))
    log(f"starting make run's stack in {var_dir}")
    stack, base = start_stack(var_dir)
    try:
        log(f"console at {base}; starting runs")
        retrain_id = start_runs(base)
        take(base, retrain_id)
    finally:
        stack.send_signal(signal.SIGTERM)
        try:
            stack.wait(60)
        except subprocess.TimeoutExpired:
            stack.kill()
        shutil.rmtree(var_dir, ignore_errors=True)
    log("done")


if __name__ == "__main__":
    main()
