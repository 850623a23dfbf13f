"""How much slower is starting a workflow through the console's REST API than calling the
Temporal SDK directly?  `make bench`, or from the repository root:

    .venv/bin/python tests/bench/bench_start_latency.py [--requests N] [--warmup W]

Everything it needs is started here and thrown away afterwards (tests/bench/harness.py): an
in-memory Temporal dev server, a fresh SQLite database (migrate + seed_demo) and the web app
as `make run` starts it (uvicorn, DEBUG off); with `--database-url` (`make bench-serve` gives
a throw-away PostgreSQL cluster) that database, migrated and seeded, under `make serve`'s
server (gunicorn with uvicorn workers, production settings). It then times, in the same run
and interleaved so machine noise hits both alike:

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
import json
import os
import secrets
import signal
import statistics
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from harness import ORGANIZATION, PASSWORD, REPO, USERNAME, Stack, log, p90
from temporalio.client import Client

from orchestration.workflows.platform_sync.definition import (
    DEFINITION,
    PlatformSyncInput,
)

PLATFORM = "ga4"
TARGET_RATIO = 1.5
PROGRESS_EVERY = 50


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


def report(samples: dict[str, list[float]], stack: Stack) -> None:
    print()
    print(
        "Workflow start latency (platform-sync), milliseconds, measured from the caller "
        f"({stack.label}; {os.cpu_count()} CPUs, Python {sys.version.split()[0]})"
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
        f"No worker ran: the started workflows only wait in task queue {stack.task_queue} "
        "on the in-memory dev server, which is discarded."
    )
    name = "start_latency-serve-postgres" if stack.database_url else "start_latency"
    out = REPO / "var" / "bench" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        name: {
            "n": len(values),
            "median_ms": round(statistics.median(values), 2),
            "p90_ms": round(p90(values), 2),
        }
        for name, values in samples.items()
    }
    out.write_text(
        json.dumps({"stack": stack.label, **summary, "ratio": round(ratio, 2)}, indent=2)
    )
    print(f"written: {out.relative_to(REPO)}")


def run(arguments: argparse.Namespace) -> None:
    rest: RestStarter | None = None
    with Stack(f"bench-{secrets.token_hex(4)}", arguments.database_url) as stack:
        try:
            rest = RestStarter(stack.base_url, stack.client_id)
            sdk = SdkStarter(
                stack.server.address, stack.task_queue, stack.organization_id, stack.client_id
            )
            samples = measure(
                {"REST": rest.start, "raw SDK": sdk.start}, arguments.requests, arguments.warmup
            )
            report(samples, stack)
        finally:
            if rest is not None:
                rest.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="measured starts of each kind")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured starts of each kind")
    parser.add_argument(
        "--database-url",
        default="",
        help="serve as `make serve` does (production settings, gunicorn) on this PostgreSQL "
        "database instead of `make run`'s server on a fresh SQLite file",
    )
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
