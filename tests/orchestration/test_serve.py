"""`make serve`'s stack: production settings, gunicorn with uvicorn workers, JSON logs. A
start through it shows in /metrics, and its request id is in the JSON log lines and in the
audit event alike."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orchestration.temporal.devserver import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.temporal


def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=15) as response:
        return response.status, response.read().decode()


def test_serve_mode_answers_ready_counts_starts_and_logs_request_ids(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "omnify.settings.production",
        "DJANGO_SECRET_KEY": "serve-test-" + "k" * 50,
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "OMNIFY_VAR_DIR": str(tmp_path),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "WEB_CONCURRENCY": "2",
        "OMNIFY_PORT": str(port),
        "TEMPORAL_PORT": str(free_port()),
        "TEMPORAL_UI_PORT": str(free_port()),
        "DEMO_PASSWORD": "serve-test",
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
    }
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    # As `make serve` does: production serves the collected files only.
    for command in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"], ["seed_demo"]):
        subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True, capture_output=True)
    stack = subprocess.Popen(
        [*manage, "run_console", "--web-server", "gunicorn"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        output, deadline = "", time.monotonic() + 90
        while "Omnify Console is running" not in output:
            assert stack.poll() is None and time.monotonic() < deadline, output
            output += stack.stdout.readline()

        assert http("GET", f"{base}/readyz")[0] == 200
        # The admin's and Swagger UI's assets come from the app itself (WhiteNoise).
        status, css = http("GET", f"{base}/static/admin/css/base.css")
        assert status == 200 and "--header-bg" in css
        assert http("GET", f"{base}/static/django_htmx/htmx-2.min.js")[0] == 200
        _, token_body = http(
            "POST",
            f"{base}/api/auth/token",
            {"username": "acme-operator", "password": "serve-test"},
            {"Content-Type": "application/json"},
        )
        token = json.loads(token_body)["token"]
        client_id = (
            sqlite3.connect(tmp_path / "omnify.sqlite3")
            .execute("SELECT id FROM orchestration_client WHERE email = 'demo@acme.example'")
            .fetchone()[0]
        )
        status, _ = http(
            "POST",
            f"{base}/api/temporal/workflows/platform-sync",
            {"organization": "acme", "client": client_id, "platform": "ga4"},
            {
                "Authorization": f"Token {token}",
                "Content-Type": "application/json",
                "X-Request-ID": "serve-test-request-1",
            },
        )
        assert status == 202
        _, exposition = http("GET", f"{base}/metrics")
        assert 'omnify_workflow_starts_total{workflow_type="platform-sync"} 1.0' in exposition

        audit = sqlite3.connect(tmp_path / "omnify.sqlite3").execute(
            "SELECT action FROM orchestration_auditevent WHERE request_id = ?",
            ("serve-test-request-1",),
        )
        assert {row[0] for row in audit} == {"workflow.start", "workflow.started"}
        lines = [
            json.loads(line)
            for line in (tmp_path / "logs" / "web.log").read_text().splitlines()
            if line.startswith("{")
        ]
        tagged = [line for line in lines if line.get("request_id") == "serve-test-request-1"]
        assert {line["logger"] for line in tagged} >= {
            "orchestration.services.runs",
            "omnify.access",
        }
    finally:
        stack.send_signal(signal.SIGTERM)
        try:
            stack.wait(60)
        except subprocess.TimeoutExpired:
            stack.kill()
