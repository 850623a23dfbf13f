"""Each source connector in a virtualenv of its own, under `OMNIFY_CONNECTORS_DIR`.

Installed on first use by the worker (unless `OMNIFY_CONNECTOR_INSTALL=0`, as in an image
that installed them at build) or ahead of time by `manage.py install_connectors`. One
installer at a time across processes (a lock file beside the virtualenvs), so two workers
starting their first syncs don't build one virtualenv twice. A virtualenv counts as
installed only once its marker names the pinned release: an install that died half-way is
removed and made again, and a changed pin replaces the old release.

`uv` (a dependency of the console) does it in seconds from its cache; without it, the
standard library's venv and pip do it in about a minute.
"""

import fcntl
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from packaging.specifiers import SpecifierSet

from orchestration.platform.connectors.base import ConnectorUnavailable

from .sources import Source

logger = logging.getLogger(__name__)
MARKER = ".omnify-installed"
INSTALL_TIMEOUT_SECONDS = 15 * 60


class ConnectorNotInstalled(ConnectorUnavailable):
    """The connector isn't installed and this process may not install it."""


def connectors_dir() -> Path:
    return Path(settings.OMNIFY_CONNECTORS_DIR)


def venv_of(source: Source) -> Path:
    return connectors_dir() / source.name


def command_of(source: Source) -> Path:
    return venv_of(source) / "bin" / source.command


def is_installed(source: Source) -> bool:
    marker = venv_of(source) / MARKER
    return marker.is_file() and marker.read_text().strip() == source.requirement


def installed_command(source: Source) -> Path:
    """The connector's command, installing it first if need be (and allowed)."""
    if not is_installed(source):
        if not settings.OMNIFY_CONNECTOR_INSTALL:
            raise ConnectorNotInstalled(
                f"Connector {source.name} ({source.requirement}) is not installed in "
                f"{connectors_dir()} and this deployment doesn't install at run time "
                "(OMNIFY_CONNECTOR_INSTALL=0): run `manage.py install_connectors "
                f"{source.name}` in its image."
            )
        install(source)
    return command_of(source)


def install(source: Source, *, force: bool = False) -> bool:
    """Install `source` unless it already is; True when this call installed it."""
    connectors_dir().mkdir(parents=True, exist_ok=True)
    with _install_lock():
        if is_installed(source) and not force:
            return False  # another process did it while this one waited
        venv = venv_of(source)
        shutil.rmtree(venv, ignore_errors=True)
        started = time.monotonic()
        how = "uv" if _uv() else "venv + pip"
        logger.info(
            "Installing connector %s (%s) into %s with %s...",
            source.name,
            source.requirement,
            venv,
            how,
        )
        try:
            for step in _install_steps(source, venv):
                _run(step, source)
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)  # never leave half a virtualenv behind
            raise
        (venv / MARKER).write_text(source.requirement + "\n")
        logger.info(
            "Installed connector %s in %.1f s (%d MB).",
            source.name,
            time.monotonic() - started,
            _megabytes(venv),
        )
        return True


def _install_steps(source: Source, venv: Path) -> list[list[str]]:
    python = _python_for(source)
    uv = _uv()
    if uv:
        return [
            [uv, "venv", "--quiet", "--python", python, str(venv)],
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                str(venv / "bin" / "python"),
                source.requirement,
            ],
        ]
    if python != sys.executable:
        raise ConnectorUnavailable(
            f"{source.requirement} needs Python {source.python} (this is "
            f"{sys.version.split()[0]}) and uv, which finds one, is not installed."
        )
    return [
        [sys.executable, "-m", "venv", str(venv)],
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            source.requirement,
        ],
    ]


def _python_for(source: Source) -> str:
    """This interpreter when the release accepts it, else uv's pick of one that does."""
    running = ".".join(map(str, sys.version_info[:3]))
    if running in SpecifierSet(source.python):
        return sys.executable
    return source.python


def _run(command: list[str], source: Source) -> None:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        raise ConnectorUnavailable(
            f"Installing {source.requirement} took over {INSTALL_TIMEOUT_SECONDS // 60} "
            "minutes; is the package index reachable?"
        ) from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        reason = " ".join(lines[-3:])[-600:] or f"exit status {done.returncode}"
        raise ConnectorUnavailable(f"Could not install {source.requirement}: {reason}")


def _uv() -> str | None:
    try:
        from uv import find_uv_bin
    except ImportError:
        return shutil.which("uv")
    try:
        return find_uv_bin()
    except FileNotFoundError:
        return shutil.which("uv")


@contextmanager
def _install_lock() -> Iterator[None]:
    with open(connectors_dir() / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _megabytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) // 2**20
