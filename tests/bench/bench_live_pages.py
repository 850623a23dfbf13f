"""What do open run pages that follow their runs live cost the web server?
`make bench-live-pages`, or from the repository root:

    .venv/bin/python tests/bench/bench_live_pages.py [--pages 50] [--runs 2] [--seconds 30]

Starts `make run`'s own stack (run_console: Temporal dev server, worker, uvicorn) with its
data in a throw-away folder, starts `--runs` long EYES retrains as acme-manager, logs into the
admin, and then keeps `--pages` run pages open the way the browser does: each asks for its
run's live fragment one second after the previous answer (htmx `every 1s`), spread evenly over
the runs. It reports the web process's CPU time (from /proc) while the pages poll, against
the same process idle, as a share of one core, and the fragments' latency. The target is
under 10% of one core; the script reports, it doesn't fail on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from tests.stack import DEMO_PASSWORD, ConsoleStack  # noqa: E402

TARGET_SHARE = 10.0
TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def start_retrains(base: str, count: int) -> None:
    token = httpx.post(
        f"{base}/api/auth/token", data={"username": "acme-manager", "password": DEMO_PASSWORD}
    ).json()["token"]
    body = {"organization": "acme", "model": "churn", "params": {"epochs": 1_000_000}}
    for _ in range(count):
        response = httpx.post(
            f"{base}/api/temporal/workflows/eyes-retrain",
            json=body,
            headers={"Authorization": f"Token {token}"},
        )
        response.raise_for_status()


def admin_session(base: str) -> httpx.Client:
    session = httpx.Client(base_url=base, follow_redirects=True)
    page = session.get("/admin/login/").text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = session.post(
        "/admin/login/?next=/admin/",
        data={"username": "acme-manager", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": csrf},
    )
    assert "log out" in response.text.lower(), "login failed"
    return session


POLLER_URL = re.compile(r'id="run-live"[^>]*?hx-get="([^"]+)"')


async def poll(
    base: str, cookies, path: str, until: float, latencies: list[float], kinds: dict[str, int]
) -> int:
    """One page's poller, as htmx runs it: a whole region (swapped outerHTML) brings the
    poller's next URL, which carries the region's version; a progress-only answer
    (`HX-Reswap: none`) leaves the poller as it was."""
    statuses = []
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=30) as client:
        while time.monotonic() < until:
            began = time.perf_counter()
            response = await client.get(path, headers={"HX-Request": "true"})
            latencies.append(time.perf_counter() - began)
            statuses.append(response.status_code)
            if response.headers.get("HX-Reswap") == "none":
                kinds["progress"] += 1
            else:
                kinds["whole"] += 1
                if found := POLLER_URL.search(response.text):
                    path = found.group(1).replace("&amp;", "&")
            await asyncio.sleep(1.0)
    return sum(1 for status in statuses if status != 200)


def cpu_share(pid: int, work) -> float:
    """The process's CPU time while `work()` runs, as a share (%) of one core."""
    began_cpu, began = cpu_seconds(pid), time.monotonic()
    work()
    return 100 * (cpu_seconds(pid) - began_cpu) / (time.monotonic() - began)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    (REPO / "var").mkdir(exist_ok=True)
    var_dir = Path(tempfile.mkdtemp(prefix="bench-live-", dir=REPO / "var"))
    try:
        with ConsoleStack(var_dir) as stack:
            base, web = stack.base_url, stack.child_pid("uvicorn")
            log(f"stack up at {base}; starting {args.runs} long retrains")
            start_retrains(base, args.runs)
            # SQLite keeps Django's UUIDs as 32 hex digits; URLs carry the dashed form.
            pks = [
                str(uuid.UUID(row[0]))
                for row in sqlite3.connect(var_dir / "omnify.sqlite3").execute(
                    "SELECT id FROM orchestration_workflowrun WHERE workflow_type = 'eyes-retrain'"
                )
            ]
            session = admin_session(base)
            time.sleep(3)  # let the retrains get going
            log(f"web process {web} idle for {args.seconds:g}s")
            idle = cpu_share(web, lambda: time.sleep(args.seconds))
            log(f"{args.pages} pages following {len(pks)} runs for {args.seconds:g}s")
            latencies: list[float] = []
            kinds = {"whole": 0, "progress": 0}
            until = time.monotonic() + args.seconds

            async def pages() -> list[int]:
                paths = [
                    f"/admin/orchestration/workflowrun/{pks[n % len(pks)]}/live/"
                    for n in range(args.pages)
                ]
                return await asyncio.gather(
                    *(poll(base, session.cookies, path, until, latencies, kinds) for path in paths)
                )

            errors: list[int] = []
            busy = cpu_share(web, lambda: errors.extend(asyncio.run(pages())))
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)

    extra = busy - idle
    result = {
        "pages": args.pages,
        "runs": args.runs,
        "seconds": args.seconds,
        "fragments": len(latencies),
        "non_200": sum(errors),
        "whole_regions": kinds["whole"],
        "progress_only": kinds["progress"],
        "web_cpu_idle_percent": round(idle, 2),
        "web_cpu_with_pages_percent": round(busy, 2),
        "cost_percent_of_one_core": round(extra, 2),
        "latency_median_ms": round(1000 * statistics.median(latencies), 1),
        "latency_p90_ms": round(1000 * percentile(latencies, 0.9), 1),
        "target_percent": TARGET_SHARE,
    }
    out = REPO / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "live_pages.json").write_text(json.dumps(result, indent=2))
    print(
        f"\nLive run pages: {args.pages} pages following {args.runs} running retrains "
        f"for {args.seconds:g}s ({len(latencies)} fragments, {sum(errors)} not 200; "
        f"{kinds['whole']} whole regions, {kinds['progress']} progress only)\n"
        f"| measure | value |\n|---|---|\n"
        f"| web CPU, idle | {idle:.1f}% of one core |\n"
        f"| web CPU, {args.pages} pages polling | {busy:.1f}% of one core |\n"
        f"| cost of the pages | {extra:.1f}% of one core (target < {TARGET_SHARE:g}%) |\n"
        f"| fragment latency median / p90 | {result['latency_median_ms']} ms / "
        f"{result['latency_p90_ms']} ms |\n"
        f"Written to {out / 'live_pages.json'}."
    )


if __name__ == "__main__":
    main()
