"""`make run`'s stack (run_console: Temporal dev server, worker, uvicorn) on free ports with
its data in a folder of its own, for scripts that drive the console as a user would
(`make screenshots`, the live-pages benchmark)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from orchestration.temporal.devserver import free_port

ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "omnify-demo"


class ConsoleStack:
    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "omnify.settings.local",
            "OMNIFY_VAR_DIR": str(var_dir),
            "OMNIFY_PORT": str(self.port),
            "TEMPORAL_PORT": str(free_port()),
            "TEMPORAL_UI_PORT": str(free_port()),
            "DEMO_PASSWORD": DEMO_PASSWORD,
        }
        self.env.pop("DATABASE_URL", None)  # never a real database, whatever the shell says
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "ConsoleStack":
        manage = [sys.executable, str(ROOT / "manage.py")]
        for command in (["migrate", "-v0"], ["seed_demo"]):
            subprocess.run(
                [*manage, *command], cwd=ROOT, env=self.env, check=True, capture_output=True
            )
        self.process = subprocess.Popen(
            [*manage, "run_console"], cwd=ROOT, env=self.env, stdout=subprocess.PIPE, text=True
        )
        output, deadline = "", time.monotonic() + 120
        while "Omnify Console is running" not in output:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"run_console did not come up:\n{output}")
            output += self.process.stdout.readline()
        return self

    def child_pid(self, name: str) -> int:
        """The pid of the supervisor's child whose command line mentions `name`."""
        with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as handle:
            for pid in map(int, handle.read().split()):
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    if name.encode() in cmdline.read():
                        return pid
        raise LookupError(name)

    def __exit__(self, *exc_info) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
