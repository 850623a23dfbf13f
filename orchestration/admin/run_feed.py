"""The run page's live feed: one server-sent-events stream per open run page, all the pages of
a run fed by one reader of it in this process.

A page that polled its run every second paid a whole request a second (session, user,
middleware, the server's per-request plumbing: 27% of a core for 50 pages under uvicorn). A
stream is an async response on the server's event loop: once open, a tick costs its page no
request. The reader reads the run once a second (Temporal through the cockpit's shared cache)
and renders the tick (progress and running durations, swapped out of band) once for all its
pages; a page renders its whole live region, for its own viewer, only when the run's version
changed (`live_version`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.db import DatabaseError, close_old_connections
from django.template.loader import render_to_string

from orchestration.models import WorkflowRun

from .cockpit import RunCockpit, live_version, run_cockpit

logger = logging.getLogger(__name__)

TICK_SECONDS = 1.0
IDLE_TICKS = 5  # a reader nobody asked for this many ticks stops
TICK_TEMPLATE = "admin/orchestration/workflowrun/run_live_tick.html"


@dataclass(frozen=True)
class Snapshot:
    """A run as its reader last read it, with what every page of it is sent for a tick."""

    run: WorkflowRun
    cockpit: RunCockpit
    version: str
    tick_html: str

    @property
    def terminal(self) -> bool:
        return self.run.is_terminal


def read_snapshot(pk: uuid.UUID) -> Snapshot | None:
    """The run now, or None when it no longer exists. Whose run it is was checked when each
    page opened its stream (and is again every little while, `run_stream`)."""
    try:
        run = (
            WorkflowRun.objects.select_related("organization", "started_by", "cancel_requested_by")
            .filter(pk=pk)
            .first()
        )
        if run is None:
            return None
        cockpit = run_cockpit(run=run)
        tick = render_to_string(TICK_TEMPLATE, {"run": run, "cockpit": cockpit}).strip()
        return Snapshot(run=run, cockpit=cockpit, version=live_version(cockpit), tick_html=tick)
    finally:
        # This runs in a worker thread, outside any request: hand a pooled connection back.
        close_old_connections()


class RunFeed:
    """The reader of one run for the pages following it on this event loop: reads it every
    `TICK_SECONDS` while a page asks for it, and stops after publishing a terminal state.

    A page's stream may end without closing its follower (a client gone while it was being
    written to: Django leaves the generators to the garbage collector), so the reader doesn't
    count followers: it stops once none has asked for a snapshot for `IDLE_TICKS` ticks."""

    def __init__(self, pk: uuid.UUID) -> None:
        self.pk = pk
        self.snapshot: Snapshot | None = None
        self.finished = False
        loop = asyncio.get_running_loop()
        self.wanted_at = loop.time()
        self._published = asyncio.Event()
        self._task = loop.create_task(self._read())

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while loop.time() - self.wanted_at < IDLE_TICKS * TICK_SECONDS:
                try:
                    snapshot = await sync_to_async(read_snapshot, thread_sensitive=False)(self.pk)
                except DatabaseError as error:
                    # A busy or absent database: the pages keep what they show; try again.
                    logger.warning("run feed: the run could not be read: %s", error)
                except Exception:
                    # A bug must not end every page's feed of this run in silence.
                    logger.exception("run feed: reading run %s failed", self.pk)
                else:
                    self.snapshot = snapshot
                    if snapshot is None or snapshot.terminal:
                        return
                    self._publish()
                await asyncio.sleep(TICK_SECONDS)
        finally:
            self.finished = True
            self._publish()
            if _FEEDS.get((loop, self.pk)) is self:
                del _FEEDS[(loop, self.pk)]

    def _publish(self) -> None:
        published, self._published = self._published, asyncio.Event()
        published.set()

    async def follow(self) -> AsyncIterator[Snapshot]:
        """Each newer snapshot (a follower busy meanwhile gets the latest), until the run is
        terminal (that snapshot last) or gone, or the reader stopped."""
        loop = asyncio.get_running_loop()
        seen = None
        while True:
            self.wanted_at = loop.time()
            published = self._published
            if self.snapshot is not None and self.snapshot is not seen:
                seen = self.snapshot
                yield seen
                if seen.terminal:
                    return
                continue
            if self.finished:
                return
            await published.wait()


def server_sent_event(name: str, data: str) -> str:
    """One event of a text/event-stream: each line of `data` on a `data:` line of its own."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {name}\n{lines}\n"


# One feed per followed run and event loop (one loop per server process).
_FEEDS: dict[tuple[asyncio.AbstractEventLoop, uuid.UUID], RunFeed] = {}


def run_feed(pk: uuid.UUID) -> RunFeed:
    """The run's feed on the running event loop, started when it has none."""
    key = (asyncio.get_running_loop(), pk)
    feed = _FEEDS.get(key)
    if feed is None or feed.finished:
        feed = _FEEDS[key] = RunFeed(pk)
    return feed
