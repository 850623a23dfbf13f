"""One run of a source connector's command, speaking the Airbyte protocol on its stdout.

The connector runs in a process group of its own (so a cancel, a timeout or the end of the
reading kills it and whatever it started), reads its configuration, catalog and state from
files only its user can read in a private temporary directory removed afterwards, and
prints one JSON message a line. `messages()` yields them as they come, calling `idle()`
whenever none came for a second (the sync heartbeats there, which is where a cancellation
reaches it); its stderr goes to a file, of which the last lines are kept for diagnosis.
"""

import contextlib
import ctypes
import ctypes.util
import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# Bounded, so a connector faster than the database waits on its pipe (memory stays flat).
QUEUE_LINES = 2000
IDLE_SECONDS = 1.0
KILL_GRACE_SECONDS = 2.0
STDERR_KEPT = 4000  # characters of the connector's stderr kept for its error message
_END = object()
# Linux's prctl(PR_SET_PDEATHSIG, SIGKILL): the connector dies with the thread that started
# it, so a worker killed outright (SIGKILL, OOM) leaves no connector reading on.
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _die_with_parent() -> None:  # runs in the child between fork and exec: nothing else
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ConnectorTimeout(Exception):
    """The command ran past its deadline and was killed."""


class ConnectorProcess:
    """`with ConnectorProcess(command, "read", config=..., catalog=..., state=...) as run:
    for message in run.messages(idle): ...`; `run.returncode` and `run.stderr_tail()` after."""

    def __init__(
        self,
        command: Path,
        verb: str,
        *,
        config: dict[str, Any] | None = None,
        catalog: dict[str, Any] | None = None,
        state: list[dict[str, Any]] | None = None,
        extra_args: tuple[str, ...] = (),
        deadline_seconds: float | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="omnify-connector-")
        folder = Path(self._directory.name)
        arguments = [str(command), verb, *extra_args]
        for flag, content in (("--config", config), ("--catalog", catalog), ("--state", state)):
            if content is not None:
                path = folder / f"{flag[2:]}.json"
                # Opened 0600: the configuration holds the source's secrets.
                with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as file:
                    json.dump(content, file)
                arguments += [flag, str(path)]
        self._stderr = open(folder / "stderr.log", "w+b")  # noqa: SIM115 (closed in close())
        self._deadline = time.monotonic() + deadline_seconds if deadline_seconds else None
        self._lines: queue.Queue = queue.Queue(maxsize=QUEUE_LINES)
        self.returncode: int | None = None
        self._process = subprocess.Popen(
            arguments,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            cwd=folder,
            # Unbuffered: a STATE must reach the console when it is printed, not when 8 KB
            # of records have filled the pipe's buffer behind it.
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            start_new_session=True,  # its own process group, killed as one
            preexec_fn=_die_with_parent,
        )
        self._reader = threading.Thread(target=self._read, name="connector-stdout", daemon=True)
        self._reader.start()

    def __enter__(self) -> "ConnectorProcess":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def pid(self) -> int:
        return self._process.pid

    def _read(self) -> None:
        try:
            for line in self._process.stdout:
                self._lines.put(line)
        except (OSError, ValueError):
            pass  # the pipe closed under us: the process was killed
        finally:
            self._lines.put(_END)

    def messages(self, idle: Callable[[], None] = lambda: None) -> Iterator[dict[str, Any]]:
        """The connector's messages (lines that aren't JSON objects come as LOG messages),
        until its stdout closes; then `returncode` is set."""
        while True:
            try:
                line = self._lines.get(timeout=self._wait())
            except queue.Empty:
                self._check_deadline()
                idle()
                continue
            if line is _END:
                break
            message = _parsed(line)
            if message is not None:
                yield message
        self.returncode = self._process.wait()

    def _wait(self) -> float:
        if self._deadline is None:
            return IDLE_SECONDS
        return max(0.0, min(IDLE_SECONDS, self._deadline - time.monotonic()))

    def _check_deadline(self) -> None:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self.kill()
            raise ConnectorTimeout()

    def stderr_tail(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - STDERR_KEPT))
        return self._stderr.read().decode("utf-8", "replace").strip()

    def kill(self) -> None:
        """SIGTERM to the connector's process group, SIGKILL after a grace period."""
        if self._process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self._process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self._process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def close(self) -> None:
        self.kill()
        # Children it left in its group outlive it: end them too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        # Unblock the reader (it may wait on a full queue) until the pipe's end reaches it.
        until = time.monotonic() + 5
        while self._reader.is_alive() and time.monotonic() < until:
            with contextlib.suppress(queue.Empty):
                self._lines.get(timeout=0.1)
        self._process.stdout.close()
        self._stderr.close()
        self._directory.cleanup()


def _parsed(line: bytes) -> dict[str, Any] | None:
    text = line.decode("utf-8", "replace").strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if isinstance(message, dict) and "type" in message:
            return message
    return {"type": "LOG", "log": {"level": "INFO", "message": text}}
