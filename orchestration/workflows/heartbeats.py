"""Every activity heartbeats, whatever it is doing.

A heartbeat timeout is how Temporal notices a dead worker within seconds instead of after
an activity's whole start-to-close timeout. Short activities do a few database writes and
never call `activity.heartbeat()` themselves, and long ones go quiet while they wait for the
database; so while an activity runs, a side thread heartbeats for it (a quarter of its
heartbeat timeout apart) with the latest details the activity gave. A worker that dies takes
that thread with it, and the attempt times out after one heartbeat timeout.
"""

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from temporalio import activity

# The keeper of the activity running on this thread, for `beat`.
_keeper: contextvars.ContextVar["_Keeper | None"] = contextvars.ContextVar(
    "heartbeat_keeper", default=None
)
MIN_INTERVAL_SECONDS = 0.5


class _Keeper:
    def __init__(self, interval: float) -> None:
        self.details: tuple[Any, ...] = ()
        self._interval = interval
        self._stopped = threading.Event()
        # The activity's context (its `activity.info()` and heartbeat function), for the
        # side thread; a copy, since one context can't be entered by two threads at once.
        self._context = contextvars.copy_context()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            self._context.run(activity.heartbeat, *self.details)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


@contextmanager
def heartbeats_kept() -> Iterator[None]:
    """Heartbeat for the current activity while the block runs (when it has a heartbeat
    timeout; local activities have none)."""
    timeout = activity.info().heartbeat_timeout
    if not timeout or activity.info().is_local:
        yield
        return
    keeper = _Keeper(max(MIN_INTERVAL_SECONDS, timeout.total_seconds() / 4))
    token = _keeper.set(keeper)
    keeper.start()
    try:
        yield
    finally:
        keeper.stop()
        _keeper.reset(token)


def beat(*details: Any) -> None:
    """Heartbeat now with `details`, and keep sending them until the next `beat`."""
    keeper = _keeper.get()
    if keeper is not None:
        keeper.details = details
    activity.heartbeat(*details)
