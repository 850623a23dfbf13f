"""`make run`: the Temporal dev server, the worker and the web server, supervised together.

Start-up is all or nothing: the ports must be free and each component must come up (Temporal
answering health checks, the web server listening) before the next one starts, or everything
is stopped again and the command fails.

Once running, a component that exits on its own is restarted after a backoff (1 s, 2 s, 4 s ...
up to 30 s) while the others keep running: the web server answers 503 `temporal_unavailable`
while Temporal is down, and the worker's SDK keeps retrying its polls until it is back.
Temporal comes back on the same ports with the same `var/temporal.db`, so runs survive; a
worker that needs restarting waits until Temporal is healthy again. A component that fails
`--crash-limit` times in a row, each time sooner than `--crash-window` seconds after its start
(or before it was ready), is broken rather than unlucky: everything is stopped and the
command fails, naming it and its log. A failure after a longer run starts the count afresh.

Ctrl-C or SIGTERM stops everything in order (web, worker with its grace period, Temporal),
also while a restart waits out its backoff, and leaves no process behind. Children also get
SIGTERM from the kernel if this supervisor is killed outright.
"""

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orchestration.temporal.devserver import DevServer, port_in_use

PR_SET_PDEATHSIG = 1
CRASH_LIMIT = 5
CRASH_WINDOW = 10.0  # seconds
BACKOFF_FIRST = 1.0  # seconds; doubles with every failure in a row
BACKOFF_MAX = 30.0
READY_TIMEOUT = 60.0  # seconds for a (re)started component to become ready
TICK = 0.2  # seconds between looks at the children: also how fast a signal is noticed


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
        # The console reads X-Forwarded-For itself, as OMNIFY_TRUSTED_PROXIES says; uvicorn
        # would otherwise take it as the peer's address from any local process.
        "--no-proxy-headers",
        # Open run pages hold a stream each (admin/run_feed.py) for up to 10 minutes:
        # without a bound uvicorn would wait for them until the supervisor kills it.
        *("--timeout-graceful-shutdown", "5"),
    ]


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        with contextlib.suppress(ValueError):  # a signal without a name (real-time ones)
            return f"killed by {signal.Signals(-returncode).name}"
        return f"killed by signal {-returncode}"
    return f"status {returncode}"


@dataclass(eq=False)
class Component:
    """One supervised child and what the supervisor remembers about it across restarts."""

    name: str
    launch: Callable[[], subprocess.Popen]
    ready: Callable[[], bool]  # one cheap probe; True once the component can serve
    log_path: Path
    stop_timeout: float
    needs: "Component | None" = None  # restarted only while this one is ready
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    is_ready: bool = False
    failures: int = 0  # quick failures in a row
    restart_at: float = 0.0

    def start(self) -> None:
        self.process = self.launch()
        self.started_at = time.monotonic()
        self.is_ready = False


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
        parser.add_argument(
            "--crash-limit",
            type=int,
            default=CRASH_LIMIT,
            help=(
                "Give up (stop everything, exit non-zero) when a component has failed this "
                f"many times in a row, each within --crash-window of its start. "
                f"Default {CRASH_LIMIT}."
            ),
        )
        parser.add_argument(
            "--crash-window",
            type=float,
            default=CRASH_WINDOW,
            help=(
                "Seconds: a component that fails sooner after its start counts towards "
                f"--crash-limit; one that ran longer starts the count afresh. "
                f"Default {CRASH_WINDOW:g}."
            ),
        )

    def handle(
        self,
        *args,
        host,
        port,
        temporal_port,
        temporal_ui_port,
        web_server,
        crash_limit,
        crash_window,
        **options,
    ):
        if crash_limit < 1:
            raise CommandError("--crash-limit must be at least 1.")
        if crash_window < 0:
            raise CommandError("--crash-window can't be negative.")
        self.crash_limit = crash_limit
        self.crash_window = crash_window
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
        with contextlib.ExitStack() as open_logs:
            components = self._components(
                open_logs, popen, var, host, port, temporal_port, temporal_ui_port, web_server
            )
            try:
                if not self._start_all(components):
                    return
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
                broken = self._supervise(components)
            except (RuntimeError, OSError) as error:
                raise CommandError(str(error)) from error
            finally:
                self._stop_all(components)
        if broken:
            raise CommandError(
                f"{broken.name} kept failing, so everything was shut down. See {broken.log_path}."
            )

    def _components(
        self,
        open_logs: contextlib.ExitStack,
        popen: dict,
        var: Path,
        host: str,
        port: int,
        temporal_port: int,
        temporal_ui_port: int,
        web_server: str,
    ) -> list[Component]:
        """Temporal, worker, web: start order, and the reverse of stop order."""

        def log_file(name: str) -> tuple[Path, BinaryIO]:
            # Appended to across restarts, so a crash's output stays beside the next run's.
            path = var / "logs" / f"{name}.log"
            return path, open_logs.enter_context(open(path, "ab"))

        def spawn(command: list[str], log: BinaryIO) -> Callable[[], subprocess.Popen]:
            return lambda: subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **popen)

        temporal_log_path, temporal_log = log_file("temporal")
        temporal = DevServer(
            ip=host,
            port=temporal_port,
            ui_port=temporal_ui_port,
            ui_codec_endpoint=f"http://{host}:{port}/api/temporal/codec",
            db_filename=var / "temporal.db",  # the same file on every restart: runs survive
            log=temporal_log,
        )
        temporal_component = Component(
            "temporal",
            launch=lambda: temporal.launch(**popen),
            ready=temporal.ready,
            log_path=temporal_log_path,
            stop_timeout=15,
        )
        worker_log_path, worker_log = log_file("worker")
        web_log_path, web_log = log_file("web")
        return [
            temporal_component,
            Component(
                "worker",
                launch=spawn([sys.executable, "manage.py", "run_temporal_worker"], worker_log),
                ready=lambda: True,
                log_path=worker_log_path,
                stop_timeout=40,  # the worker's 30 s grace for in-flight activities, and some
                # A worker started without Temporal exits at once: that would count as a crash.
                needs=temporal_component,
            ),
            Component(
                "web",
                launch=spawn(web_command(web_server, host, port), web_log),
                ready=lambda: port_in_use(host, port),
                log_path=web_log_path,
                stop_timeout=15,
            ),
        ]

    def _start_all(self, components: list[Component]) -> bool:
        """Start the components in order, each once the previous one is ready. False when a
        signal came first; RuntimeError when one of them did not come up."""
        for component in components:
            self._log(f"Starting {component.name}...")
            component.start()
            deadline = time.monotonic() + READY_TIMEOUT
            while not component.ready():
                if self.stopping:
                    return False
                for started in components:
                    if started.process is not None and started.process.poll() is not None:
                        raise RuntimeError(
                            f"{started.name} exited during start-up "
                            f"({describe_exit(started.process.returncode)}); "
                            f"see {started.log_path}"
                        )
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{component.name} was not ready within {READY_TIMEOUT:g}s; "
                        f"see {component.log_path}"
                    )
                time.sleep(TICK)
            component.is_ready = True
        return True

    def _supervise(self, components: list[Component]) -> Component | None:
        """Restart what exits until a signal comes; the component that kept failing, if any."""
        while not self.stopping:
            for component in components:
                failure = self._look_after(component)
                if failure and self._failed(component, failure):
                    return component
            time.sleep(TICK)
        return None

    def _look_after(self, component: Component) -> str | None:
        """Restart the component when its backoff is over, or notice that it became ready or
        exited. What went wrong, if something did."""
        now = time.monotonic()
        process = component.process
        if process is None:
            needs = component.needs
            if now < component.restart_at or (needs is not None and not needs.is_ready):
                return None
            try:
                component.start()
            except (RuntimeError, OSError) as error:  # e.g. its port is held by a stray process
                component.started_at = now
                return f"could not be started: {error}"
            self._log(f"{component.name} started again (pid {component.process.pid}).")
            return None
        if process.poll() is not None:
            ran_for = now - component.started_at
            return f"exited unexpectedly ({describe_exit(process.returncode)}) after {ran_for:.0f}s"
        if not component.is_ready:
            if component.ready():
                component.is_ready = True
                self._log(f"{component.name} is ready.")
            elif now - component.started_at > READY_TIMEOUT:
                # Its exit is then handled like any other failure, one that counts.
                self._log(f"{component.name} not ready within {READY_TIMEOUT:g}s; killing it.")
                process.kill()
        return None

    def _failed(self, component: Component, failure: str) -> bool:
        """Count a failure and plan the restart. True when it is time to give up."""
        quick = (
            not component.is_ready or time.monotonic() - component.started_at < self.crash_window
        )
        component.failures = component.failures + 1 if quick else 0
        component.process = None
        component.is_ready = False
        if component.failures >= self.crash_limit:
            self._log(
                f"{component.name} {failure}; it failed {component.failures} times in a row, "
                f"each within {self.crash_window:g}s of its start: giving up. "
                f"See {component.log_path}."
            )
            return True
        delay = min(BACKOFF_FIRST * 2 ** max(component.failures - 1, 0), BACKOFF_MAX)
        component.restart_at = time.monotonic() + delay
        self._log(
            f"{component.name} {failure}; restarting it in {delay:g}s. See {component.log_path}."
        )
        return False

    def _on_signal(self, signum, frame) -> None:
        if not self.stopping:
            self._log(f"\n{signal.Signals(signum).name} received: stopping...")
        self.stopping = True

    def _stop_all(self, components: list[Component]) -> None:
        # Reverse start order: web stops taking requests, the worker finishes its activities,
        # then Temporal goes down. A component waiting for its restart has nothing to stop.
        for component in reversed(components):
            process = component.process
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(component.stop_timeout)
                except subprocess.TimeoutExpired:
                    self._log(f"{component.name} did not stop in time; killing it.")
                    process.kill()
                    process.wait()
            component.process = None
            self._log(f"{component.name} stopped.")

    def _log(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()
