"""Do the run and audit lists stay fast at a million runs? (issue 12, P4) `make bench-lists`,
or from the repository root:

    .venv/bin/python tests/bench/bench_lists.py [--db var/bench/lists.sqlite3] [--requests 15]

Reads the dataset `make bench-data` generates (1,000,000 runs, about 2,000,000 audit events,
50 organizations; generated first when missing) and asks the API and the admin for their lists
as `bench-manager` (manager of one organization, 20,000 runs) and `bench-admin` (superuser):
the API run list, its status and type+status filters, page 100 and a cursor 100 pages deep, the
audit list; the admin run changelist, with a status filter, a search by workflow-id prefix and
page 100, and the admin audit changelist. Each case is one warm-up request and then
`--requests` timed ones through Django's test client in this process (the server's own time:
URL routing, middleware, authentication, the queries, rendering; no network); it reports the
median, p90 and the number of SQL queries. Targets: median under 50 ms for the API and under
150 ms for the admin. It reports, it doesn't fail on them. Writes var/bench/lists.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
DEFAULT_DB = REPO / "var" / "bench" / "lists.sqlite3"
API_TARGET_MS = 50
ADMIN_TARGET_MS = 150


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def cases(type_name: str, prefix: str) -> list[tuple[str, str]]:
    runs = "/api/temporal/workflows"
    return [
        ("API runs", f"{runs}"),
        ("API runs status=FAILED", f"{runs}?status=FAILED"),
        ("API runs type+status", f"{runs}?workflow_type={type_name}&status=FAILED"),
        ("API runs page 100", f"{runs}?page=100"),
        ("API runs cursor, 100 deep", "CURSOR"),
        ("API runs search prefix", f"{runs}?search={prefix}"),
        ("API audit", "/api/audit/events"),
        ("admin runs", "/admin/orchestration/workflowrun/"),
        ("admin runs status=FAILED", "/admin/orchestration/workflowrun/?status__exact=FAILED"),
        ("admin runs search prefix", f"/admin/orchestration/workflowrun/?q={prefix}"),
        ("admin runs page 100", "/admin/orchestration/workflowrun/?p=100"),
        ("admin audit", "/admin/orchestration/auditevent/"),
    ]


def deep_cursor(client, depth: int) -> str | None:
    """The `next` link `depth` pages into the cursor-paginated run list (None without one)."""
    url = "/api/temporal/workflows?cursor="
    for _ in range(depth):
        response = client.get(url)
        following = response.json().get("next") if response.status_code == 200 else None
        if not following or "cursor=" not in following or "page=" in following:
            return None
        url = following.split("testserver", 1)[-1]
    return url


class HttpClient:
    """The test client's `get` over HTTP to a real server, with the test client's session."""

    def __init__(self, base: str, session_cookie: str) -> None:
        import httpx
        from django.conf import settings

        cookies = {settings.SESSION_COOKIE_NAME: session_cookie}
        self.http = httpx.Client(base_url=base, cookies=cookies)

    def get(self, url: str):
        return self.http.get(url)


class Server:
    """The web app as `make run` starts it (tests/bench/harness.py), in its own process, on the
    bench database (DEBUG off)."""

    def __init__(self, env: dict[str, str]) -> None:
        # Imported here: the harness loads the console's modules, which must see this
        # script's settings first.
        from harness import HOST, start_web, wait_for_port

        from orchestration.temporal.devserver import free_port

        port = free_port(HOST)
        self.url = f"http://{HOST}:{port}"
        self.process = start_web(env, port, subprocess.DEVNULL, serve=False)
        wait_for_port(self.process, port)

    def stop(self) -> None:
        from harness import stop_process

        stop_process(self.process)


def measure(client, url: str, count: int) -> dict:
    from django.db import connection

    queries = []
    # Not CaptureQueriesContext: each request's start resets the connection's query log.
    with connection.execute_wrapper(
        lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)
    ):
        response = client.get(url)  # the warm-up, and the query count
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(count):
        began = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))], 1),
        "queries": len(queries),
    }


def run_cases(args, server, prefix: str, type_name: str) -> list[dict]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    rows = []
    for username in ("bench-manager", "bench-admin"):
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        if server is not None:
            client = HttpClient(server.url, client.cookies[settings.SESSION_COOKIE_NAME].value)
        for name, url in cases(type_name, prefix):
            if url == "CURSOR":
                url = deep_cursor(client, 100)
                if url is None:
                    log(f"{username}: {name}: no cursor pagination; skipped")
                    continue
            result = measure(client, url, args.requests)
            target = API_TARGET_MS if name.startswith("API") else ADMIN_TARGET_MS
            if server is not None:
                result["queries"] = None  # counted in process only
            rows.append({"user": username, "case": name, "url": url, **result, "target_ms": target})
            log(f"{username:13} {name:28} {result['median_ms']:8.1f} ms")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--server", action="store_true", help="over HTTP to uvicorn")
    args = parser.parse_args()
    name = "lists-server.json" if args.server else "lists.json"
    args.out = args.out or REPO / "var" / "bench" / name
    if not args.db.exists():
        log(f"{args.db} is missing: generating it (make bench-data)")
        subprocess.run(
            [sys.executable, str(REPO / "tests/bench/bench_data.py"), "--out", str(args.db)],
            check=True,
        )
    os.environ["DATABASE_URL"] = f"sqlite:///{args.db}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "omnify.settings.local"
    os.environ["DJANGO_DEBUG"] = "0"  # no debug toolbar or query log on the timed path
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 40)
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)  # the access log's line per request
    from django.conf import settings

    from orchestration.models import WorkflowRun

    settings.ALLOWED_HOSTS = ["*"]
    first = WorkflowRun.objects.order_by("-created_at").values_list("workflow_id", "workflow_type")[
        :1
    ][0]
    prefix = first[0][: len(first[1]) + 9]  # the type and 8 characters of the uuid
    server = Server(dict(os.environ, PYTHONUNBUFFERED="1")) if args.server else None
    try:
        rows = run_cases(args, server, prefix, first[1])
    finally:
        if server is not None:
            server.stop()
    print(f"\n{'user':13} {'case':28} {'median':>9} {'p90':>9} {'queries':>7} {'target':>7}")
    for row in rows:
        mark = "" if row["median_ms"] < row["target_ms"] else "  over"
        print(
            f"{row['user']:13} {row['case']:28} {row['median_ms']:7.1f}ms {row['p90_ms']:7.1f}ms"
            f" {row['queries'] if row['queries'] is not None else '-':>7}"
            f" {row['target_ms']:>5}ms{mark}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "database": str(args.db),
                "over": "HTTP to uvicorn" if server else "Django's test client, in process",
                "requests": args.requests,
                "cpu": _cpu(),
                "nproc": os.cpu_count(),
                "results": rows,
            },
            indent=2,
        )
    )
    print(f"\nwritten to {args.out}")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
