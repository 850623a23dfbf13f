"""`make run`: the Temporal dev server, the worker and the web server, supervised together.

Ctrl-C or SIGTERM stops them in order (web, worker with its grace period, Temporal) and
leaves no process behind; if one of them dies the others are stopped too. Children also
get SIGTERM from the kernel if this supervisor is killed outright.
"""

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orchestration.temporal.devserver import DevServer, port_in_use

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Not on Linux, the supervisor's signal handlers alone stop the children.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def web_command(web_server: str, host: str, port: int) -> list[str]:
    """How the web server is started (the browser tests start it the same way)."""
    if web_server == "gunicorn":
        return [
            *(sys.executable, "-m", "gunicorn", "-c", "omnify/gunicorn.conf.py"),
            *("--bind", f"{host}:{port}", "omnify.asgi:application"),
        ]
    return [
        *(sys.executable, "-m", "uvicorn", "omnify.asgi:application"),
        *("--host", host, "--port", str(port), "--no-server-header", "--no-access-log"),
    ]


class Command(BaseCommand):
    help = "Run the console: Temporal dev server + worker + web, until Ctrl-C or SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("OMNIFY_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("OMNIFY_PORT", 8000)))
        parser.add_argument(
            "--temporal-port", type=int, default=int(os.environ.get("TEMPORAL_PORT", 7233))
        )
        parser.add_argument(
            "--temporal-ui-port", type=int, default=int(os.environ.get("TEMPORAL_UI_PORT", 8233))
        )
        parser.add_argument(
            "--web-server",
            choices=["uvicorn", "gunicorn"],
            default="uvicorn",
            help="gunicorn: production-like serving with uvicorn workers (make serve).",
        )

    def handle(self, *args, host, port, temporal_port, temporal_ui_port, web_server, **options):
        for name, number in [
            ("web", port),
            ("Temporal", temporal_port),
            ("Temporal UI", temporal_ui_port),
        ]:
            if port_in_use(host, number):
                raise CommandError(
                    f"{name} port {host}:{number} is in use. Stop what holds it or set "
                    "OMNIFY_PORT / TEMPORAL_PORT / TEMPORAL_UI_PORT."
                )
        var = Path(settings.VAR_DIR)
        logs = var / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

        ui_url = f"http://{host}:{temporal_ui_port}"
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": f"{host}:{temporal_port}",
            "TEMPORAL_UI_URL": os.environ.get("TEMPORAL_UI_URL", ui_url),
            "PYTHONUNBUFFERED": "1",
        }
        popen = {"start_new_session": True, "preexec_fn": _die_with_parent, "env": env}
        try:
            self._log("Starting Temporal dev server (data in var/temporal.db)...")
            temporal = DevServer(
                ip=host,
                port=temporal_port,
                ui_port=temporal_ui_port,
                db_filename=var / "temporal.db",
                log=open(logs / "temporal.log", "ab"),  # noqa: SIM115 (lives as long as the child)
            )
            temporal.start(**popen)
            self.children.append(("temporal", temporal.process))
            self._log("Starting worker...")
            self._spawn("worker", [sys.executable, "manage.py", "run_temporal_worker"], popen)
            self._log("Starting web server...")
            self._spawn("web", web_command(web_server, host, port), popen)
            self._wait_for_port("web", host, port)
        except (RuntimeError, CommandError) as error:
            self._stop_all()
            raise CommandError(str(error)) from error
        base = f"http://{host}:{port}"
        self.stdout.write(
            self.style.SUCCESS("\nOmnify Console is running.\n")
            + f"  Admin:        {base}/admin/\n"
            f"  API:          {base}/api/temporal/workflows\n"
            f"  Temporal UI:  {env['TEMPORAL_UI_URL']}\n"
            f"  Temporal:     {env['TEMPORAL_ADDRESS']}\n"
            "  Logins:       admin, acme-admin, acme-manager, acme-operator, acme-viewer, "
            "globex-manager\n"
            "  Password:     $DEMO_PASSWORD (default omnify-demo)\n"
            f"  Logs:         {logs}/\n"
            "Press Ctrl-C to stop.\n"
        )
        self.stdout.flush()
        exit_code = self._supervise()
        if exit_code:
            raise CommandError("A component stopped unexpectedly; everything was shut down.")

    def _spawn(self, name: str, command: list[str], popen: dict) -> None:
        log = open(Path(settings.VAR_DIR) / "logs" / f"{name}.log", "ab")  # noqa: SIM115
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **popen)
        self.children.append((name, process))

    def _wait_for_port(self, name: str, host: str, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not port_in_use(host, port):
            for child, process in self.children:
                if process.poll() is not None:
                    raise RuntimeError(f"{child} exited during start-up; see var/logs/{child}.log")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not listen on {host}:{port} within {timeout}s")
            time.sleep(0.2)

    def _supervise(self) -> int:
        while not self.stopping:
            for name, process in self.children:
                if process.poll() is not None:
                    self._log(f"{name} exited with status {process.returncode}; stopping.")
                    self._stop_all()
                    return 1
            time.sleep(0.5)
        self._stop_all()
        return 0

    def _on_signal(self, signum, frame) -> None:
        if not self.stopping:
            self._log(f"\n{signal.Signals(signum).name} received: stopping...")
        self.stopping = True

    def _stop_all(self) -> None:
        # Reverse start order: web stops taking requests, the worker finishes its activities,
        # then Temporal goes down.
        for name, process in reversed(self.children):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(40 if name == "worker" else 15)
                except subprocess.TimeoutExpired:
                    self._log(f"{name} did not stop in time; killing it.")
                    process.kill()
                    process.wait()
            self._log(f"{name} stopped.")
        self.children = []

    def _log(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()
