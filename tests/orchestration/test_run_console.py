"""`make run`'s supervisor: brings up Temporal, the worker and the web server, and SIGINT
(Ctrl-C) or SIGTERM stops them all, leaving no process behind."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orchestration.temporal.devserver import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.temporal


def children_of(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_run_console_starts_the_stack_and_stops_it_all(tmp_path, stop_signal):
    ports = {
        name: str(free_port()) for name in ("OMNIFY_PORT", "TEMPORAL_PORT", "TEMPORAL_UI_PORT")
    }
    env = {
        **os.environ,
        **ports,
        "DJANGO_SETTINGS_MODULE": "omnify.settings.local",
        "OMNIFY_VAR_DIR": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    supervisor = subprocess.Popen(
        [*manage, "run_console"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        output = ""
        deadline = time.monotonic() + 90
        while "Omnify Console is running" not in output:
            assert supervisor.poll() is None and time.monotonic() < deadline, output
            output += supervisor.stdout.readline()
        children = children_of(supervisor.pid)
        assert len(children) == 3  # temporal, worker, web

        url = f"http://127.0.0.1:{ports['OMNIFY_PORT']}/api/temporal/health"
        with urllib.request.urlopen(url, timeout=10) as response:
            health = json.load(response)
        assert health["temporal"]["address"] == f"127.0.0.1:{ports['TEMPORAL_PORT']}"
        assert (tmp_path / "temporal.db").exists()

        supervisor.send_signal(stop_signal)
        assert supervisor.wait(60) == 0
        rest = supervisor.stdout.read()
        assert "worker stopped." in rest and "temporal stopped." in rest
        assert [pid for pid in children if alive(pid)] == []
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
