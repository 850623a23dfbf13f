"""Throughput and end-to-end time through the console against the raw temporalio SDK, on the
same Temporal server and worker, in the same run. `make bench-throughput`, or:

    .venv/bin/python tests/bench/bench_throughput.py [--starts 500] [--concurrency 32]
        [--e2e 20] [--workflows 200]

Starts everything it needs in a throw-away folder (tests/bench/harness.py): an in-memory
Temporal dev server, a fresh SQLite database (migrate + seed_demo), the web app as `make run`
starts it (uvicorn, DEBUG off) and the console's worker (`manage.py run_temporal_worker`), in
their own processes; with `--database-url` (`make bench-serve`), that PostgreSQL database
under `make serve`'s server (gunicorn, production settings). Then:

  P2  start throughput: `--starts` platform-sync starts at `--concurrency` at a time, through
      REST (POST /api/temporal/workflows/platform-sync) and through the SDK's
      `start_workflow`, the worker running the started syncs meanwhile. Starts per second.
  P3  end to end: one client onboarding from the POST until the status endpoint says
      COMPLETED, against the same workflow started by the SDK (`start_workflow` +
      `result()`) and run by the same worker; interleaved, `--e2e` of each. The SDK's runs get
      their console row beforehand (the activities record what they create on it), untimed.
  P5  worker: `--workflows` onboardings at once (database writes in every activity), started
      by the SDK, completed per second; against a workflow of the same shape (a reported
      start, three activities each after a local-activity report, a final report) whose
      activities touch no database, on a raw SDK worker in this process with the same
      activity slots.

It prints a table (medians, p90, ratios against the targets) and writes var/bench/throughput.json;
it reports and never fails on a target (exit status 0 unless something broke).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from harness import (  # noqa: E402
    ORGANIZATION,
    PASSWORD,
    USERNAME,
    Stack,
    log,
    p90,
    stop_process,
    tail,
)
from no_database_workflow import NoDatabaseWorkflow, bench_noop  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

TARGETS = {"P2": 0.8, "P3": 1.3, "P5": 0.7}
WORKER_SLOTS = 10  # run_temporal_worker's default --max-concurrent-activities
RESULTS = REPO / "var" / "bench" / "throughput.json"


# --- the console's side -------------------------------------------------------------------------
class Console:
    """The web app's REST API as a service calling it sees it (one token, keep-alive)."""

    def __init__(self, base_url: str, client_id: int, concurrency: int) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.http = httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits)
        self.client_id = client_id

    async def login(self) -> None:
        response = await self.http.post(
            "/api/auth/token", data={"username": USERNAME, "password": PASSWORD}
        )
        response.raise_for_status()
        self.http.headers["Authorization"] = f"Token {response.json()['token']}"

    async def start(self, workflow_type: str, body: dict) -> str:
        response = await self.http.post(
            f"/api/temporal/workflows/{workflow_type}",
            json={"organization": ORGANIZATION, **body},
        )
        if response.status_code != 202:
            raise RuntimeError(f"REST start answered {response.status_code}: {response.text}")
        return response.json()["workflow_id"]

    async def wait_completed(self, workflow_id: str) -> None:
        while True:
            response = await self.http.get(f"/api/temporal/workflows/{workflow_id}/status")
            status = response.json()["status"]
            if status == "COMPLETED":
                return
            if status in ("FAILED", "CANCELED", "TERMINATED", "TIMED_OUT", "START_FAILED"):
                raise RuntimeError(f"{workflow_id} ended {status}")
            await asyncio.sleep(0.02)


def django_runs(env: dict[str, str]):
    """Django in this process, on the bench's database: the SDK's runs need their rows."""
    os.environ.update(env)
    import django

    django.setup()
    from accounts.models import Organization
    from orchestration.models import WorkflowRun
    from orchestration.temporal.workflow_ids import workflow_id_for

    organization = Organization.objects.get(slug=ORGANIZATION)

    def drain(timeout: float = 600) -> None:
        """Wait until the worker has finished every run (one measure's work must not be
        the next one's noise)."""
        deadline = time.monotonic() + timeout
        open_runs = WorkflowRun.objects.filter(status__in=["PENDING", "RUNNING"])
        while (left := open_runs.count()) and time.monotonic() < deadline:
            time.sleep(0.5)
        if left:
            log(f"{left} runs still open after {timeout:.0f} s")

    def make(workflow_type: str, params: dict) -> tuple[str, str]:
        run = WorkflowRun(organization=organization, workflow_type=workflow_type, input=params)
        run.workflow_id = workflow_id_for(workflow_type, organization.pk, str(run.id))
        run.status = WorkflowRun.Status.RUNNING
        run.save()
        return str(run.pk), run.workflow_id

    make.drain = drain
    return make


def sdk_input(workflow_type: str, run_pk: str, organization_id: int, params: dict):
    from orchestration.contract.registry import get_definition

    definition = get_definition(workflow_type)
    return definition.build_input(
        run_pk=run_pk,
        organization_id=organization_id,
        policy=definition.policy(),
        params=params,
    )


# --- the measures --------------------------------------------------------------------------------
async def burst(starts: int, concurrency: int, start) -> tuple[float, int]:
    """`starts` calls of `start(i)`, `concurrency` at a time: (starts per second, errors)."""
    gate = asyncio.Semaphore(concurrency)
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        async with gate:
            try:
                await start(i)
            except Exception as error:  # counted and reported, not fatal
                errors += 1
                if errors <= 3:
                    log(f"start failed: {error}")

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(starts)))
    return starts / (time.perf_counter() - began), errors


async def measure(arguments, make_run, address, task_queue, organization_id, client_id, base_url):
    make_runs = lambda kind, params_for, n: [  # noqa: E731 (setup, untimed)
        (make_run(kind, params_for(i)), params_for(i)) for i in range(n)
    ]
    sdk = await Client.connect(address, data_converter=_converter())
    console = Console(base_url, client_id, arguments.concurrency)
    await console.login()
    results: dict[str, dict] = {}
    sync_body = {"client": client_id, "platform": "ga4"}

    # P2 -------------------------------------------------------------------------------------
    log(f"P2: {arguments.starts} starts at concurrency {arguments.concurrency}, each way")
    sync_params = {"client_id": client_id, "platform": "ga4", "full": False}
    prepared = await asyncio.to_thread(
        make_runs, "platform-sync", lambda i: sync_params, arguments.starts
    )

    async def sdk_start(i: int) -> None:
        (run_pk, workflow_id), params = prepared[i]
        await sdk.start_workflow(
            "platform-sync",
            sdk_input("platform-sync", run_pk, organization_id, params),
            id=workflow_id,
            task_queue=task_queue,
        )

    rest_rate, rest_errors = await burst(
        arguments.starts, arguments.concurrency, lambda i: console.start("platform-sync", sync_body)
    )
    sdk_rate, sdk_errors = await burst(arguments.starts, arguments.concurrency, sdk_start)
    results["P2"] = {
        "rest_starts_per_second": rest_rate,
        "sdk_starts_per_second": sdk_rate,
        "rest_errors": rest_errors,
        "sdk_errors": sdk_errors,
        "ratio": rest_rate / sdk_rate,
    }
    log(f"P2: REST {rest_rate:.1f}/s ({rest_errors} errors), SDK {sdk_rate:.1f}/s")
    log("waiting for the worker to finish the syncs")
    await asyncio.to_thread(make_run.drain)

    # P3 -------------------------------------------------------------------------------------
    log(f"P3: {arguments.e2e} onboardings end to end, each way, interleaved")
    samples: dict[str, list[float]] = {"REST": [], "raw SDK": []}
    for i in range(arguments.e2e):
        params = {"name": f"E2E {i}", "email": f"e2e-rest-{i}@bench.example", "platforms": ["ga4"]}
        body = {"client": params}
        sdk_params = {**params, "email": f"e2e-sdk-{i}@bench.example"}
        (run_pk, workflow_id) = await asyncio.to_thread(make_run, "client-onboarding", sdk_params)

        async def via_rest(body=body) -> None:
            await console.wait_completed(await console.start("client-onboarding", body))

        async def via_sdk(run_pk=run_pk, workflow_id=workflow_id, sdk_params=sdk_params) -> None:
            handle = await sdk.start_workflow(
                "client-onboarding",
                sdk_input("client-onboarding", run_pk, organization_id, sdk_params),
                id=workflow_id,
                task_queue=task_queue,
            )
            await handle.result()

        order = [("REST", via_rest), ("raw SDK", via_sdk)]
        for name, call in order if i % 2 == 0 else order[::-1]:
            began = time.perf_counter()
            await call()
            samples[name].append((time.perf_counter() - began) * 1000)
    results["P3"] = {
        name: {"median_ms": statistics.median(v), "p90_ms": p90(v), "n": len(v)}
        for name, v in samples.items()
    }
    results["P3"]["ratio"] = statistics.median(samples["REST"]) / statistics.median(
        samples["raw SDK"]
    )

    await asyncio.to_thread(make_run.drain)
    # P5 -------------------------------------------------------------------------------------
    log(f"P5: {arguments.workflows} onboardings at once, then as many no-database workflows")
    onboardings = await asyncio.to_thread(
        make_runs,
        "client-onboarding",
        lambda i: {"name": f"P5 {i}", "email": f"p5-{i}@bench.example", "platforms": ["ga4"]},
        arguments.workflows,
    )

    async def all_done(starts) -> float:
        began = time.perf_counter()
        handles = await asyncio.gather(*starts)
        await asyncio.gather(*(handle.result() for handle in handles))
        return arguments.workflows / (time.perf_counter() - began)

    console_rate = await all_done(
        sdk.start_workflow(
            "client-onboarding",
            sdk_input("client-onboarding", run_pk, organization_id, params),
            id=workflow_id,
            task_queue=task_queue,
        )
        for (run_pk, workflow_id), params in onboardings
    )
    raw_queue = f"{task_queue}-raw"
    with ThreadPoolExecutor(WORKER_SLOTS) as pool:
        async with Worker(
            sdk,
            task_queue=raw_queue,
            workflows=[NoDatabaseWorkflow],
            activities=[bench_noop],
            activity_executor=pool,
            max_concurrent_activities=WORKER_SLOTS,
        ):
            raw_rate = await all_done(
                sdk.start_workflow(
                    "bench-no-database", 3, id=f"bench-raw-{uuid.uuid4()}", task_queue=raw_queue
                )
                for _ in range(arguments.workflows)
            )
    results["P5"] = {
        "console_completed_per_second": console_rate,
        "no_database_completed_per_second": raw_rate,
        "ratio": console_rate / raw_rate,
    }
    await console.http.aclose()
    return results


def _converter():
    # The console's worker decrypts what it is given: the SDK's starts use the same converter.
    from orchestration.temporal.converter import data_converter

    return data_converter()


def report(results: dict, arguments, stack: Stack) -> None:
    p2, p3, p5 = results["P2"], results["P3"], results["P5"]
    print()
    print(
        f"Console against the raw SDK, same server and worker ({stack.label}; "
        f"{os.cpu_count()} CPUs)"
    )
    print(f"{'measure':44} {'console':>12} {'raw SDK':>12} {'ratio':>7} {'target':>8}")
    rows = [
        (
            f"P2 starts/s ({arguments.starts} at {arguments.concurrency})",
            f"{p2['rest_starts_per_second']:.1f}",
            f"{p2['sdk_starts_per_second']:.1f}",
            p2["ratio"],
            f">= {TARGETS['P2']}",
        ),
        (
            "P3 onboarding end to end, median ms",
            f"{p3['REST']['median_ms']:.0f}",
            f"{p3['raw SDK']['median_ms']:.0f}",
            p3["ratio"],
            f"<= {TARGETS['P3']}",
        ),
        (
            "P3 p90 ms",
            f"{p3['REST']['p90_ms']:.0f}",
            f"{p3['raw SDK']['p90_ms']:.0f}",
            None,
            "",
        ),
        (
            f"P5 workflows completed/s ({arguments.workflows})",
            f"{p5['console_completed_per_second']:.1f}",
            f"{p5['no_database_completed_per_second']:.1f}",
            p5["ratio"],
            f">= {TARGETS['P5']}",
        ),
    ]
    for name, console, raw, ratio, target in rows:
        shown = f"{ratio:.2f}" if ratio is not None else ""
        print(f"{name:44} {console:>12} {raw:>12} {shown:>7} {target:>8}")
    print(f"REST start errors: {p2['rest_errors']}, SDK start errors: {p2['sdk_errors']}")
    out = RESULTS.with_stem("throughput-serve-postgres") if stack.database_url else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"arguments": vars(arguments), "stack": stack.label, **results}
    out.write_text(json.dumps(summary, indent=2))
    print(f"written: {out.relative_to(REPO)}")


def run(arguments) -> None:
    worker = None
    with Stack(f"bench-{secrets.token_hex(4)}", arguments.database_url) as stack:
        try:
            log("starting the worker")
            with open(stack.var_dir / "worker.log", "wb") as worker_log:
                worker = subprocess.Popen(
                    [
                        *(sys.executable, "manage.py", "run_temporal_worker"),
                        *("--reconcile-interval", "0"),
                    ],
                    cwd=REPO,
                    env=stack.env,
                    stdout=worker_log,
                    stderr=subprocess.STDOUT,
                )
            results = asyncio.run(
                measure(
                    arguments,
                    django_runs(stack.env),
                    stack.server.address,
                    stack.task_queue,
                    stack.organization_id,
                    stack.client_id,
                    stack.base_url,
                )
            )
            report(results, arguments, stack)
        except BaseException:
            if output := tail(stack.var_dir / "worker.log"):
                log(f"worker.log (last lines):\n{output}")
            raise
        finally:
            stop_process(worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--e2e", type=int, default=20)
    parser.add_argument("--workflows", type=int, default=200)
    parser.add_argument(
        "--database-url",
        default="",
        help="serve as `make serve` does (production settings, gunicorn) on this PostgreSQL "
        "database instead of `make run`'s server on a fresh SQLite file",
    )
    arguments = parser.parse_args()
    if min(arguments.starts, arguments.concurrency, arguments.e2e, arguments.workflows) < 1:
        parser.error("every count must be at least 1")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    code = 0
    try:
        run(arguments)
    except KeyboardInterrupt:
        code = 130
    except Exception:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # temporalio can abort the interpreter at exit (sdk-python issue 300)


if __name__ == "__main__":
    main()
