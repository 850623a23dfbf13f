"""A local HTTPS proxy that answers for a real API host, for the real Airbyte connectors.

The connectors hard-code their APIs' base URLs (`https://api.hubapi.com`), but they use
`requests`, which sends every https request through `HTTPS_PROXY` as a CONNECT tunnel. What
it trusts: `REQUESTS_CA_BUNDLE` for `requests.get`, but the CDK's HTTP client calls
`Session.send`, which skips the environment and trusts certifi's bundle only; so the
connector's Python also starts with a `sitecustomize` (on `PYTHONPATH`) pointing certifi at
the test CA, as a machine's trust store would. This proxy accepts the CONNECT, terminates TLS with a
certificate for the asked host signed by a throw-away test CA (trustme), and answers each
request inside the tunnel with `route(method, path, query, body) -> (status, json)`. Every
request is logged (method, path, query) so a test can see what the connector asked.

    with HttpsFixture(route) as fixture:
        env = fixture.env()  # HTTPS_PROXY, REQUESTS_CA_BUNDLE, ...
"""

import contextlib
import json
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from socketserver import StreamRequestHandler, ThreadingTCPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

SITECUSTOMIZE = """
import os

if os.environ.get("OMNIFY_TEST_CA_BUNDLE"):
    import certifi
    import certifi.core

    certifi.where = certifi.core.where = lambda: os.environ["OMNIFY_TEST_CA_BUNDLE"]
"""

Route = Callable[[str, str, dict[str, str], Any], tuple[int, Any]]


@dataclass(frozen=True)
class Seen:
    host: str
    method: str
    path: str
    query: dict[str, str]


class HttpsFixture:
    def __init__(self, route: Route, hosts: tuple[str, ...]) -> None:
        self.route = route
        self.seen: list[Seen] = []
        self.refused: list[str] = []  # hosts asked for that the fixture doesn't serve
        self._ca = trustme.CA()
        self._folder = tempfile.TemporaryDirectory(prefix="omnify-https-fixture-")
        self.ca_file = Path(self._folder.name) / "ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_file))
        (Path(self._folder.name) / "sitecustomize.py").write_text(SITECUSTOMIZE)
        self._contexts = {}
        for host in hosts:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ca.issue_cert(host).configure_cert(context)
            self._contexts[host] = context
        self._server = ThreadingTCPServer(("127.0.0.1", 0), self._tunnel_handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        return {
            "HTTPS_PROXY": self.proxy_url,
            "https_proxy": self.proxy_url,
            "REQUESTS_CA_BUNDLE": str(self.ca_file),
            "OMNIFY_TEST_CA_BUNDLE": str(self.ca_file),
            "PYTHONPATH": self._folder.name,
            "NO_PROXY": "",
            "no_proxy": "",
        }

    def __enter__(self) -> "HttpsFixture":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._folder.cleanup()

    def _tunnel_handler(self):
        fixture = self

        class Tunnel(StreamRequestHandler):
            def handle(self):
                request_line = self.rfile.readline().decode("latin-1").split()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # the CONNECT's headers
                if len(request_line) < 2 or request_line[0] != "CONNECT":
                    self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                    return
                host = request_line[1].rsplit(":", 1)[0]
                context = fixture._contexts.get(host)
                if context is None:  # a host the test doesn't serve: like no network
                    fixture.refused.append(host)
                    self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
                    return
                self.wfile.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                self.wfile.flush()
                try:
                    tls = context.wrap_socket(self.connection, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                fixture._serve(tls, host, self.client_address)

        return Tunnel

    def _serve(self, tls: socket.socket, host: str, address) -> None:
        fixture = self

        class Api(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                url = urlsplit(self.path)
                query = {name: values[-1] for name, values in parse_qs(url.query).items()}
                fixture.seen.append(Seen(host, self.command, url.path, query))
                status, document = fixture.route(self.command, url.path, query, body)
                data = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args):
                pass

        with contextlib.suppress(ssl.SSLError, ConnectionError, OSError):
            Api(tls, address, self._server)
