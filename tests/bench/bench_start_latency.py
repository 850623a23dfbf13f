"""How much slower is starting a workflow through the console's REST API than calling the
Temporal SDK directly?  `make bench`, or from the repository root:

    .venv/bin/python tests/bench/bench_start_latency.py [--requests N] [--warmup W]

Everything it needs is started here and thrown away afterwards: an in-memory Temporal dev
server, a fresh SQLite database (migrate + seed_demo) and the web app under uvicorn. It then
times, in the same run and interleaved so machine noise hits both alike:

  REST     POST /api/temporal/workflows/platform-sync as acme-operator over one keep-alive
           connection: permission checks, the run row and its audit events, the bridge's
           start_workflow, the serialized run (answer 202).
  raw SDK  `Client.start_workflow("platform-sync", PlatformSyncInput(...))` on one connected
           client and one persistent event loop: the floor any console start sits on.

No worker runs: the started workflows just wait in a throw-away task queue. The script reports
the ratio of the medians against the 1.5x target; it does not fail on it (exit status 0 unless
something broke). Not a pytest module: the folder has no __init__.py and the file name doesn't
match test_*.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from temporalio.client import Client  # noqa: E402

from orchestration.temporal.devserver import DevServer, free_port, port_in_use  # noqa: E402
from orchestration.workflows.platform_sync.definition import (  # noqa: E402
    DEFINITION,
    PlatformSyncInput,
)

HOST = "127.0.0.1"
ORGANIZATION = "acme"
USERNAME = "acme-operator"
PASSWORD = "omnify-demo"
PLATFORM = "ga4"
TARGET_RATIO = 1.5
PROGRESS_EVERY = 50


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- setting up -------------------------------------------------------------------------------
def app_environment(var_dir: Path, temporal_address: str, task_queue: str) -> dict[str, str]:
    env = dict(os.environ)
    # Never touch a real database, whatever the caller's shell exports.
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


def demo_ids(seed_output: str, database: Path) -> tuple[int, int]:
    """(acme's organization id, acme's demo client id) from seed_demo's report and the DB."""
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT o.id, c.id FROM accounts_organization o "
            "JOIN orchestration_client c ON c.organization_id = o.id "
            "WHERE o.slug = ? ORDER BY c.id LIMIT 1",
            (ORGANIZATION,),
        ).fetchone()
    if row is None:
        raise RuntimeError(f"seed_demo made no client for {ORGANIZATION}.")
    organization_id, client_id = row
    reported = re.search(rf"^{ORGANIZATION}: demo client id (\d+)", seed_output, re.MULTILINE)
    if reported and int(reported.group(1)) != client_id:
        raise RuntimeError(
            f"seed_demo reported client {reported.group(1)}, the database holds {client_id}."
        )
    return organization_id, client_id


def start_web(env: dict[str, str], port: int, log_file: IO) -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", "omnify.asgi:application"]
    command += ["--host", HOST, "--port", str(port), "--log-level", "warning", "--no-access-log"]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT)


def wait_for_port(process: subprocess.Popen, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not port_in_use(HOST, port):
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with status {process.returncode}.")
        if time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not listen on {HOST}:{port} within {timeout}s.")
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


# --- the two ways to start a workflow ---------------------------------------------------------
class RestStarter:
    def __init__(self, base_url: str, client_id: int) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        response = self.http.post(
            "/api/auth/token", data={"username": USERNAME, "password": PASSWORD}
        )
        if response.status_code != 200:
            raise RuntimeError(f"Token request answered {response.status_code}: {response.text}")
        self.http.headers["Authorization"] = f"Token {response.json()['token']}"
        self.body = {"organization": ORGANIZATION, "client": client_id, "platform": PLATFORM}

    def start(self) -> None:
        response = self.http.post("/api/temporal/workflows/platform-sync", json=self.body)
        if response.status_code != 202:
            raise RuntimeError(f"REST start answered {response.status_code}: {response.text}")

    def close(self) -> None:
        self.http.close()


class SdkStarter:
    """One connected client driven on one persistent loop, as a caller of the SDK would."""

    def __init__(self, address: str, task_queue: str, organization_id: int, client_id: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = self.loop.run_until_complete(Client.connect(address))
        self.task_queue = task_queue
        self.organization_id = organization_id
        self.client_id = client_id
        self.policy = DEFINITION.policy()

    async def _start(self) -> None:
        run = uuid.uuid4()
        await self.client.start_workflow(
            DEFINITION.name,
            PlatformSyncInput(
                run=str(run),
                organization_id=self.organization_id,
                policy=self.policy,
                client_id=self.client_id,
                platform=PLATFORM,
            ),
            id=f"bench-sdk-{run}",
            task_queue=self.task_queue,
            execution_timeout=timedelta(seconds=self.policy.execution_timeout_seconds),
        )

    def start(self) -> None:
        self.loop.run_until_complete(self._start())


# --- measuring and reporting ------------------------------------------------------------------
def timed(call: Callable[[], None]) -> float:
    began = time.perf_counter()
    call()
    return (time.perf_counter() - began) * 1000


def measure(
    starters: dict[str, Callable[[], None]], requests: int, warmup: int
) -> dict[str, list[float]]:
    """Alternate the starters every iteration, flipping which goes first, so both see the
    same noise and neither always runs right after the other."""
    names = list(starters)
    samples: dict[str, list[float]] = {name: [] for name in names}
    log(f"warming up: {warmup} starts each")
    for i in range(warmup + requests):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            elapsed = timed(starters[name])
            if i >= warmup:
                samples[name].append(elapsed)
        done = i + 1 - warmup
        if done > 0 and (done % PROGRESS_EVERY == 0 or done == requests):
            medians = ", ".join(
                f"{name} median {statistics.median(values):.2f} ms"
                for name, values in samples.items()
            )
            log(f"measured {done}/{requests} each ({medians})")
    return samples


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 9 // 10) - 1)]  # nearest rank


def report(samples: dict[str, list[float]], task_queue: str) -> None:
    print()
    print(
        "Workflow start latency (platform-sync), milliseconds, measured from the caller "
        f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]})"
    )
    print(f"{'':10} {'n':>5} {'median':>9} {'p90':>9} {'mean':>9}")
    for name, values in samples.items():
        print(
            f"{name:10} {len(values):5d} {statistics.median(values):9.2f} "
            f"{p90(values):9.2f} {statistics.fmean(values):9.2f}"
        )
    rest, sdk = (statistics.median(samples[name]) for name in ("REST", "raw SDK"))
    ratio = rest / sdk
    verdict = "PASS" if ratio <= TARGET_RATIO else "ABOVE TARGET"
    print()
    print(f"REST median / SDK median: {ratio:.2f}x (target <= {TARGET_RATIO}x): {verdict}")
    print(
        f"No worker ran: the started workflows only wait in task queue {task_queue} "
        "on the in-memory dev server, which is discarded."
    )


# --- main -------------------------------------------------------------------------------------
def run(arguments: argparse.Namespace) -> None:
    var_dir = Path(tempfile.mkdtemp(prefix="omnify-bench-"))
    server: DevServer | None = None
    web: subprocess.Popen | None = None
    rest: RestStarter | None = None
    try:
        log(f"starting the Temporal dev server (in memory); scratch dir {var_dir}")
        with open(var_dir / "temporal.log", "wb") as temporal_log:
            server = DevServer(log=temporal_log).start()
        task_queue = f"bench-{secrets.token_hex(4)}"
        env = app_environment(var_dir, server.address, task_queue)

        log("preparing a fresh SQLite database: migrate, seed_demo")
        manage(env, "migrate", "--noinput", "-v", "0")
        seed_output = manage(env, "seed_demo")
        organization_id, client_id = demo_ids(seed_output, var_dir / "omnify.sqlite3")

        port = free_port(HOST)
        log(f"starting the web app: uvicorn on {HOST}:{port}")
        with open(var_dir / "uvicorn.log", "wb") as web_log:
            web = start_web(env, port, web_log)
        wait_for_port(web, port)

        rest = RestStarter(f"http://{HOST}:{port}", client_id)
        sdk = SdkStarter(server.address, task_queue, organization_id, client_id)
        samples = measure(
            {"REST": rest.start, "raw SDK": sdk.start}, arguments.requests, arguments.warmup
        )
        report(samples, task_queue)
    except BaseException:
        output = tail(var_dir / "uvicorn.log") if web is not None else ""
        if output:
            log(f"uvicorn output (last lines):\n{output}")
        raise
    finally:
        if rest is not None:
            rest.close()
        stop_process(web)
        if server is not None:
            server.stop()
        shutil.rmtree(var_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="measured starts of each kind")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured starts of each kind")
    arguments = parser.parse_args()
    if arguments.requests < 1 or arguments.warmup < 0:
        parser.error("--requests must be at least 1 and --warmup at least 0")
    # A SIGTERM (CI timeout, kill) still runs the cleanup in run()'s finally block.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    code = 0
    try:
        run(arguments)
    except KeyboardInterrupt:
        log("interrupted")
        code = 130
    except Exception:
        traceback.print_exc()
        code = 1
    # temporalio can abort the interpreter at exit ("PyGILState_Release", sdk-python issue
    # 300); the outcome is decided and printed, so flush and leave without teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
