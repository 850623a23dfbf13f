"""A real HTTP server serving customer records as a paginated JSON API (the `http-json`
connector's default shape), for the connector and sync tests.

Records are served in pages of `limit` after an opaque cursor, only those updated in
[`since`, `until`] when the request says (ISO times; each record has an `updated_at`,
RECORDS_PER_DAY a day from 2026-01-01, for date-windowed incremental reads), each answer after
`delay` seconds; `faults` scripts
answers per cursor, consumed one per request: "429" (with Retry-After: 1), "500", "401",
"404", "garbage" (not JSON) or "slow" (the answer waits until `release()`). Every request is
logged with its cursor, window, status, credential header and time, so a test can see what was
read and when.
"""

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

RECORDS_PER_DAY = 20
FIRST_DAY = datetime(2026, 1, 1, tzinfo=UTC)


def updated_at(index: int) -> str:
    moment = FIRST_DAY + timedelta(days=index // RECORDS_PER_DAY, minutes=index % RECORDS_PER_DAY)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def source_records(count: int, domain: str = "source.example") -> list[dict]:
    return [
        {
            "id": f"src-{index:05d}",
            "email": f"person{index:05d}@{domain}",
            "sessions": index % 50,
            "spend": round(index * 1.25 % 400, 2),
            "days_since_last_activity": index % 90,
            "support_tickets": index % 4,
            "churned": index % 3 == 0,
            "updated_at": updated_at(index),
        }
        for index in range(count)
    ]


@dataclass(frozen=True)
class Request:
    cursor: str | None
    since: str | None
    limit: int
    status: int
    authorization: str | None
    at: float


class PagedSource:
    def __init__(
        self,
        records: list[dict],
        faults: dict[str | None, list[str]] | None = None,
        delay: float = 0.0,
    ):
        self.records = records
        self.delay = delay  # seconds every answer takes, as a remote API's do
        self.faults = {cursor: list(answers) for cursor, answers in (faults or {}).items()}
        self.requests: list[Request] = []
        self.slow_started = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/customers"

    def __enter__(self) -> "PagedSource":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def release(self) -> None:
        self._released.set()

    def cursors(self) -> list[str | None]:
        return [request.cursor for request in self.requests]

    def _page(self, cursor: str | None, limit: int, since: str | None, until: str | None) -> dict:
        records = [
            record
            for record in self.records
            if (since is None or record["updated_at"] >= since)
            and (until is None or record["updated_at"] <= until)
        ]
        start = int(cursor[1:]) if cursor else 0
        end = min(start + limit, len(records))
        return {
            "records": records[start:end],
            "next_cursor": f"c{end}" if end < len(records) else None,
        }

    def _answer(self, query: dict[str, str], authorization: str | None):
        cursor, since, until = query.get("cursor"), query.get("since"), query.get("until")
        limit = int(query.get("limit", "100"))
        with self._lock:
            scripted = self.faults.get(cursor)
            fault = scripted.pop(0) if scripted else None
        status, headers, body = 200, {"Content-Type": "application/json"}, None
        time.sleep(self.delay)
        if fault == "slow":
            self.slow_started.set()
            self._released.wait(120)
        elif fault == "429":
            status, headers["Retry-After"] = 429, "1"
        elif fault in ("500", "404", "401"):
            status = int(fault)
        elif fault == "garbage":
            body = b"<html>not json</html>"
        if body is None:
            page = self._page(cursor, limit, since, until) if status == 200 else {}
            body = json.dumps(page).encode()
        with self._lock:
            self.requests.append(
                Request(cursor, since, limit, status, authorization, time.monotonic())
            )
        return status, headers, body

    def _handler(self):
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                query = {
                    name: values[0] for name, values in parse_qs(urlparse(self.path).query).items()
                }
                status, headers, body = source._answer(query, self.headers.get("Authorization"))
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the reader is gone (its worker was killed)

            def log_message(self, *args):
                pass

        return Handler
