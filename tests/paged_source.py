"""A real HTTP server serving customer records as a paginated JSON API (the `http-json`
connector's default shape), for the connector and sync tests.

Records are served in pages of `limit` after an opaque cursor; `faults` scripts answers per
cursor, consumed one per request: "429" (with Retry-After: 1), "500", "404", "garbage" (not
JSON) or "slow" (the answer waits until `release()`). Every request is logged with its cursor,
status, credential header and time, so a test can see what was read and when.
"""

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


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
        }
        for index in range(count)
    ]


@dataclass(frozen=True)
class Request:
    cursor: str | None
    limit: int
    status: int
    authorization: str | None
    at: float


class PagedSource:
    def __init__(self, records: list[dict], faults: dict[str | None, list[str]] | None = None):
        self.records = records
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

    def _page(self, cursor: str | None, limit: int) -> dict:
        start = int(cursor[1:]) if cursor else 0
        end = min(start + limit, len(self.records))
        return {
            "records": self.records[start:end],
            "next_cursor": f"c{end}" if end < len(self.records) else None,
        }

    def _answer(self, cursor: str | None, limit: int, authorization: str | None):
        with self._lock:
            scripted = self.faults.get(cursor)
            fault = scripted.pop(0) if scripted else None
        status, headers, body = 200, {"Content-Type": "application/json"}, None
        if fault == "slow":
            self.slow_started.set()
            self._released.wait(120)
        elif fault == "429":
            status, headers["Retry-After"] = 429, "1"
        elif fault in ("500", "404"):
            status = int(fault)
        elif fault == "garbage":
            body = b"<html>not json</html>"
        if body is None:
            body = json.dumps(self._page(cursor, limit) if status == 200 else {}).encode()
        with self._lock:
            self.requests.append(Request(cursor, limit, status, authorization, time.monotonic()))
        return status, headers, body

    def _handler(self):
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                query = parse_qs(urlparse(self.path).query)
                cursor = query.get("cursor", [None])[0]
                limit = int(query.get("limit", ["100"])[0])
                status, headers, body = source._answer(
                    cursor, limit, self.headers.get("Authorization")
                )
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
