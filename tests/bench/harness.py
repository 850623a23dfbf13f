"""What the start benchmarks share: a throw-away stack (an in-memory Temporal dev server, a
fresh database with the demo data, the web app started the way `make run` or `make serve`
starts it), and the small helpers around it. Not a pytest module."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from orchestration.management.commands.run_console import web_command  # noqa: E402
from orchestration.temporal.devserver import DevServer, free_port, port_in_use  # noqa: E402

HOST = "127.0.0.1"
ORGANIZATION = "acme"
USERNAME = "acme-operator"
PASSWORD = "omnify-demo"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 9 // 10) - 1)]  # nearest rank


def app_environment(
    var_dir: Path, temporal_address: str, task_queue: str, database_url: str = ""
) -> dict[str, str]:
    """The web app's and the worker's environment. Without `database_url`: `make run`'s
    settings on a fresh SQLite file, DEBUG off. With it: `make serve`'s production settings
    (plain HTTP, JSON logs, Prometheus in multiprocess mode) on that database."""
    env = dict(os.environ)
    # Never touch a database the caller's shell happens to export; only the one asked for.
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "OMNIFY_VAR_DIR": str(var_dir),
            "DJANGO_SETTINGS_MODULE": "omnify.settings.local",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "bench-only",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TEMPORAL_ADDRESS": temporal_address,
            "TEMPORAL_NAMESPACE": "default",
            "TEMPORAL_TASK_QUEUE": task_queue,
            "DEMO_PASSWORD": PASSWORD,
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if database_url:
        (var_dir / "prometheus").mkdir(exist_ok=True)
        env.update(
            {
                "DATABASE_URL": database_url,
                "DJANGO_SETTINGS_MODULE": "omnify.settings.production",
                "DJANGO_SECURE_SSL_REDIRECT": "0",
                "DJANGO_SECURE_COOKIES": "0",
                "PROMETHEUS_MULTIPROC_DIR": str(var_dir / "prometheus"),
            }
        )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    """Run `manage.py <args>`; return its stdout, or raise with its output."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} exited with {done.returncode}:\n"
            f"{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def demo_ids(env: dict[str, str], seed_output: str) -> tuple[int, int]:
    """(acme's organization id, acme's demo client id), as seed_demo reported them."""
    client = re.search(rf"^{ORGANIZATION}: demo client id (\d+)", seed_output, re.MULTILINE)
    if client is None:
        raise RuntimeError(f"seed_demo reported no client for {ORGANIZATION}:\n{seed_output}")
    query = (
        "from accounts.models import Organization; "
        f"print(Organization.objects.get(slug={ORGANIZATION!r}).pk)"
    )
    return int(manage(env, "shell", "--no-imports", "-c", query).strip()), int(client.group(1))


def start_web(env: dict[str, str], port: int, log_file: IO, *, serve: bool) -> subprocess.Popen:
    """The web app as `make run` (uvicorn) or `make serve` (gunicorn) starts it."""
    command = web_command("gunicorn" if serve else "uvicorn", HOST, port)
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT)


def wait_for_port(process: subprocess.Popen, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not port_in_use(HOST, port):
        if process.poll() is not None:
            raise RuntimeError(f"the web server exited with status {process.returncode}.")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the web server did not listen on {HOST}:{port} within {timeout}s.")
        time.sleep(0.1)


def stop_process(process: subprocess.Popen | None, timeout: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Stack:
    """An in-memory Temporal dev server, a prepared database and the web app, in a scratch
    folder; everything stopped and removed on exit. `database_url` empty: SQLite under
    `make run`'s server; else that database under `make serve`'s."""

    task_queue: str
    database_url: str = ""
    var_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="omnify-bench-")))
    server: DevServer | None = None
    web: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)
    base_url: str = ""
    organization_id: int = 0
    client_id: int = 0

    @property
    def label(self) -> str:
        return "make serve, PostgreSQL" if self.database_url else "make run's server, SQLite"

    def __enter__(self) -> Stack:
        try:
            log(f"starting the Temporal dev server (in memory); scratch dir {self.var_dir}")
            with open(self.var_dir / "temporal.log", "wb") as temporal_log:
                self.server = DevServer(log=temporal_log).start()
            self.env = app_environment(
                self.var_dir, self.server.address, self.task_queue, self.database_url
            )
            log(f"preparing the database ({self.label}): migrate, seed_demo")
            manage(self.env, "migrate", "--noinput", "-v", "0")
            if self.database_url:  # as `make serve` does: production settings need the manifest
                manage(self.env, "collectstatic", "--noinput", "-v", "0")
            self.organization_id, self.client_id = demo_ids(self.env, manage(self.env, "seed_demo"))
            port = free_port(HOST)
            log(f"starting the web app on {HOST}:{port} ({self.label})")
            with open(self.var_dir / "web.log", "wb") as web_log:
                self.web = start_web(self.env, port, web_log, serve=bool(self.database_url))
            wait_for_port(self.web, port)
            self.base_url = f"http://{HOST}:{port}"
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        if exc_info and exc_info[0] is not None and (output := tail(self.var_dir / "web.log")):
            log(f"web server output (last lines):\n{output}")
        stop_process(self.web)
        if self.server is not None:
            self.server.stop()
        shutil.rmtree(self.var_dir, ignore_errors=True)
