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


STREAM_URL = re.compile(r'sse-connect="([^"]+)"')


async def stream_url(client: httpx.AsyncClient, page: str) -> str:
    """The run page's stream, as its htmx SSE extension finds it (`sse-connect`)."""
    response = await client.get(page)
    response.raise_for_status()
    return STREAM_URL.search(response.text).group(1).replace("&amp;", "&")


async def follow(
    client: httpx.AsyncClient, stream: str, stop: asyncio.Event, gaps: list[float], kinds
) -> int:
    """One open run page's stream, followed until `stop`: its events counted by kind, the
    gaps between them timed (how fresh the page is). 1 when it didn't answer 200."""
    async with client.stream("GET", stream, headers={"Accept": "text/event-stream"}) as events:
        if events.status_code != 200:
            return 1
        last = time.perf_counter()
        async for line in events.aiter_lines():
            if line.startswith("event: "):
                now = time.perf_counter()
                gaps.append(now - last)
                last = now
                kinds[line.removeprefix("event: ")] += 1
            if stop.is_set():
                break
    return 0


async def open_pages(
    base: str, cookies, pages: list[str], web: int, seconds: float
) -> tuple[float, list[float], dict[str, int], int]:
    """Open every page, follow all their streams, and measure the web process while they
    are followed (loading the pages is not part of it): (CPU share, gaps, kinds, errors)."""
    gaps: list[float] = []
    kinds = {"tick": 0, "region": 0, "end": 0}
    limits = httpx.Limits(max_connections=len(pages) + 5)
    async with httpx.AsyncClient(
        base_url=base, cookies=cookies, timeout=30, limits=limits
    ) as client:
        streams = await asyncio.gather(*(stream_url(client, page) for page in pages))
        stop = asyncio.Event()
        followers = [
            asyncio.create_task(follow(client, stream, stop, gaps, kinds)) for stream in streams
        ]
        await asyncio.sleep(3)  # every stream open and past its first region
        gaps.clear()
        kinds.update(dict.fromkeys(kinds, 0))
        began_cpu, began = cpu_seconds(web), time.monotonic()
        await asyncio.sleep(seconds)
        share = 100 * (cpu_seconds(web) - began_cpu) / (time.monotonic() - began)
        stop.set()
        errors = await asyncio.gather(*followers)
    return share, gaps, kinds, sum(errors)


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
            pages = [
                f"/admin/orchestration/workflowrun/{pks[n % len(pks)]}/change/"
                for n in range(args.pages)
            ]
            busy, gaps, kinds, errors = asyncio.run(
                open_pages(base, session.cookies, pages, web, args.seconds)
            )
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)

    extra = busy - idle
    result = {
        "pages": args.pages,
        "runs": args.runs,
        "seconds": args.seconds,
        "events": sum(kinds.values()),
        "pages_not_followed": errors,
        "regions": kinds["region"],
        "ticks": kinds["tick"],
        "web_cpu_idle_percent": round(idle, 2),
        "web_cpu_with_pages_percent": round(busy, 2),
        "cost_percent_of_one_core": round(extra, 2),
        "event_gap_median_ms": round(1000 * statistics.median(gaps), 1),
        "event_gap_p90_ms": round(1000 * percentile(gaps, 0.9), 1),
        "target_percent": TARGET_SHARE,
    }
    out = REPO / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "live_pages.json").write_text(json.dumps(result, indent=2))
    print(
        f"\nLive run pages: {args.pages} pages following {args.runs} running retrains "
        f"for {args.seconds:g}s over server-sent events ({len(gaps)} events: "
        f"{kinds['tick']} ticks, {kinds['region']} regions; {errors} pages not followed)\n"
        f"| measure | value |\n|---|---|\n"
        f"| web CPU, idle | {idle:.1f}% of one core |\n"
        f"| web CPU, {args.pages} pages following | {busy:.1f}% of one core |\n"
        f"| cost of the pages | {extra:.1f}% of one core (target < {TARGET_SHARE:g}%) |\n"
        f"| time between a page's events median / p90 | {result['event_gap_median_ms']} ms / "
        f"{result['event_gap_p90_ms']} ms |\n"
        f"Written to {out / 'live_pages.json'}."
    )


if __name__ == "__main__":
    main()
