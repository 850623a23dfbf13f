"""`make run`'s supervisor: brings up Temporal, the worker and the web server; SIGINT (Ctrl-C)
or SIGTERM stops them all, leaving no process behind; a component that dies is restarted while
the others keep running, and one that keeps dying makes it give up."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from orchestration.temporal.devserver import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.temporal
T = TypeVar("T")


def children_of(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except FileNotFoundError:  # it has just exited
        return b""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def eventually(check: Callable[[], T | None], what: str, timeout: float = 30) -> T:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.1)
    return result


class Console:
    """`manage.py run_console` on free ports with its own var/; output goes to files so that
    reading it never blocks."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.tmp_path = tmp_path
        self.ports = {
            name: str(free_port()) for name in ("OMNIFY_PORT", "TEMPORAL_PORT", "TEMPORAL_UI_PORT")
        }
        env = {
            **os.environ,
            **self.ports,
            "DJANGO_SETTINGS_MODULE": "omnify.settings.local",
            "OMNIFY_VAR_DIR": str(tmp_path),
        }
        env.pop("DATABASE_URL", None)
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
        self.out, self.err = tmp_path / "console.out", tmp_path / "console.err"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.process = subprocess.Popen(
                [*manage, "run_console", *args], cwd=ROOT, env=env, stdout=out, stderr=err
            )
        self.seen: dict[int, bytes] = {}  # every child ever found, for the clean-up

    def output(self) -> str:
        return self.out.read_text()

    def wait_until_running(self) -> None:
        def running() -> bool:
            assert self.process.poll() is None, self.output() + self.err.read_text()
            return "Omnify Console is running" in self.output()

        eventually(running, "the banner", timeout=90)

    def child(self, name: str) -> int | None:
        """The pid of the supervisor's child whose command line mentions `name`, if any."""
        for pid in children_of(self.process.pid):
            line = cmdline(pid)
            if line:  # empty once it has exited
                self.seen.setdefault(pid, line)
            if name.encode() in line:
                return pid
        return None

    def new_child(self, name: str, old: int) -> int:
        """Wait for the child mentioning `name` that replaces `old`."""

        def replaced() -> int | None:
            pid = self.child(name)
            return pid if pid != old else None

        return eventually(replaced, f"a new {name}")

    def health(self) -> int:
        url = f"http://127.0.0.1:{self.ports['OMNIFY_PORT']}/api/temporal/health"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid, line in self.seen.items():  # only if it is still the process we saw
            if cmdline(pid) == line:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def console(tmp_path: Path, *args: str) -> Iterator[Console]:
    stack = Console(tmp_path, *args)
    try:
        stack.wait_until_running()
        yield stack
    finally:
        stack.close()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_run_console_starts_the_stack_and_stops_it_all(tmp_path, stop_signal):
    with console(tmp_path) as stack:
        children = children_of(stack.process.pid)
        assert len(children) == 3  # temporal, worker, web
        stack.child("")  # remember them all for the clean-up

        url = f"http://127.0.0.1:{stack.ports['OMNIFY_PORT']}/api/temporal/health"
        with urllib.request.urlopen(url, timeout=10) as response:
            health = json.load(response)
        assert health["temporal"]["address"] == f"127.0.0.1:{stack.ports['TEMPORAL_PORT']}"
        assert (tmp_path / "temporal.db").exists()

        stack.process.send_signal(stop_signal)
        assert stack.process.wait(60) == 0
        output = stack.output()
        assert "worker stopped." in output and "temporal stopped." in output
        assert [pid for pid in children if alive(pid)] == []


def test_killed_temporal_is_restarted_while_the_web_keeps_serving(tmp_path):
    with console(tmp_path) as stack:
        web = stack.child("uvicorn")
        temporal = stack.child("start-dev")
        assert web and temporal and stack.health() == 200
        command = cmdline(temporal)

        os.kill(temporal, signal.SIGKILL)
        answers: list[int] = []

        def back() -> int | None:
            answers.append(stack.health())
            new = stack.child("start-dev")
            return new if new not in (None, temporal) and answers[-1] == 200 else None

        new_temporal = eventually(back, "Temporal back, health 200")
        # The restart waits at least its 1 s backoff, and the web answers at once meanwhile.
        assert 503 in answers
        assert stack.child("uvicorn") == web
        # Same ports, same database file: runs survive the restart.
        assert cmdline(new_temporal) == command
        output = stack.output()
        assert "temporal exited unexpectedly (killed by SIGKILL)" in output
        assert str(tmp_path / "logs" / "temporal.log") in output
        eventually(lambda: "temporal is ready." in stack.output(), "the supervisor sees it")
        # A worker still connecting when Temporal went away exits, and is restarted too.
        eventually(lambda: stack.child("run_temporal_worker"), "a worker")


def test_killed_worker_is_restarted_and_sigterm_stops_it_all_during_a_backoff(tmp_path):
    with console(tmp_path) as stack:
        web, temporal = stack.child("uvicorn"), stack.child("start-dev")
        worker = stack.child("run_temporal_worker")
        assert web and temporal and worker

        os.kill(worker, signal.SIGKILL)
        new_worker = stack.new_child("run_temporal_worker", worker)
        assert stack.child("uvicorn") == web and stack.child("start-dev") == temporal
        assert "worker exited unexpectedly (killed by SIGKILL)" in stack.output()

        # A second quick failure: the restart waits 2 s, and SIGTERM comes meanwhile.
        os.kill(new_worker, signal.SIGKILL)
        eventually(lambda: "restarting it in 2s" in stack.output(), "the second backoff")
        stack.process.send_signal(signal.SIGTERM)
        assert stack.process.wait(60) == 0
        output = stack.output()
        assert output.count("worker started again") == 1
        assert "web stopped." in output and "temporal stopped." in output
        assert [pid for pid in (web, temporal, new_worker) if alive(pid)] == []


def test_a_component_that_keeps_crashing_makes_it_give_up(tmp_path):
    with console(tmp_path, "--crash-limit", "2", "--crash-window", "5") as stack:
        worker = stack.child("run_temporal_worker")
        web, temporal = stack.child("uvicorn"), stack.child("start-dev")
        assert worker and web and temporal

        # After a good run a failure doesn't count towards the limit...
        time.sleep(6)
        os.kill(worker, signal.SIGKILL)
        worker = stack.new_child("run_temporal_worker", worker)
        # ...and quick ones do: the second in a row is the limit.
        os.kill(worker, signal.SIGKILL)
        worker = stack.new_child("run_temporal_worker", worker)
        os.kill(worker, signal.SIGKILL)

        assert stack.process.wait(60) != 0
        errors = stack.err.read_text()
        assert "worker kept failing" in errors
        assert str(tmp_path / "logs" / "worker.log") in errors
        output = stack.output()
        assert "worker exited unexpectedly (killed by SIGKILL)" in output
        assert "giving up" in output and "temporal stopped." in output
        assert [pid for pid in (web, temporal, worker) if alive(pid)] == []
