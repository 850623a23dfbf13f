"""The one owner of this process's Temporal client (docs/architecture.md, rule 8).

A daemon thread runs a persistent asyncio loop that holds one connected `Client`. Sync code
(views, admin, commands) submits coroutines to it and waits with a timeout. The thread and
client are created lazily on first use, after any fork (gunicorn), and again if the process
forked since. A connection that fails is retried on the next call, so a web process outlives
a Temporal outage without a restart.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    GetSystemInfoRequest,
    GetWorkflowExecutionHistoryRequest,
)
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from orchestration.contract.protocol import failure_message

from .converter import data_converter
from .history import readable_events, readable_pending_activities, run_timeline

T = TypeVar("T")

# RPC errors that mean "Temporal can't be reached or can't serve now", not "you asked wrong".
_UNAVAILABLE_CODES = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.UNKNOWN,
    RPCStatusCode.RESOURCE_EXHAUSTED,
}


class TemporalUnavailable(Exception):
    """Temporal could not be reached (or did not answer in time)."""


class WorkflowNotFound(Exception):
    """Temporal has no execution with that workflow id."""


class WorkflowAlreadyStarted(Exception):
    """An execution with that workflow id exists already."""


@dataclass(frozen=True)
class Execution:
    workflow_id: str
    run_id: str
    status: str | None  # a temporalio WorkflowExecutionStatus name, e.g. "RUNNING"
    result: Any = None
    failure: str = ""
    pending_activities: tuple[dict, ...] = ()
    started_at: datetime | None = None


@dataclass(frozen=True)
class HistoryPage:
    events: list[dict]
    next_cursor: str | None


def _encode_cursor(token: bytes, skip: int) -> str:
    return f"{base64.urlsafe_b64encode(token).decode()}.{skip}"


def _decode_cursor(cursor: str) -> tuple[bytes, int]:
    if not cursor:
        return b"", 0
    try:
        token, skip = cursor.rsplit(".", 1)
        if not (skip.isascii() and skip.isdigit()):
            raise ValueError
        # Strictly the alphabet _encode_cursor writes: anything else is no token of ours.
        return base64.b64decode(token.encode(), altchars=b"-_", validate=True), int(skip)
    except (ValueError, binascii.Error):
        raise ValueError("Not a history cursor.") from None


async def _decode_failures(client: Client, events) -> None:
    """Decode, in place, the failures that events carry, so their messages read as written
    (the codec encrypts them, with the stack trace, into the failure's encoded attributes)."""
    for event in events:
        which = event.WhichOneof("attributes")
        if not which:
            continue
        attributes = getattr(event, which)
        for name in ("failure", "last_failure"):
            if name in attributes.DESCRIPTOR.fields_by_name and attributes.HasField(name):
                await _decode_failure(client, getattr(attributes, name))


async def _decode_failure(client: Client, failure) -> None:
    await client.data_converter.decode_failure(failure)  # decrypts its payloads in place
    while True:
        if failure.HasField("encoded_attributes"):
            attributes = client.data_converter.payload_converter.from_payloads(
                [failure.encoded_attributes]
            )[0]
            if isinstance(attributes, dict) and isinstance(attributes.get("message"), str):
                failure.message = attributes["message"]
        if not failure.HasField("cause"):
            return
        failure = failure.cause


class TemporalBridge:
    def __init__(self, *, address: str, namespace: str, timeout: float) -> None:
        self.address = address
        self.namespace = namespace
        self.timeout = timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Client | None = None
        self._pid: int | None = None

    # --- plumbing ---------------------------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                # After a fork the parent's loop thread doesn't exist in the child.
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="temporal-bridge", daemon=True
                )
                thread.start()
                self._loop, self._client, self._pid = loop, None, os.getpid()
            return self._loop

    async def _get_client(self) -> Client:
        # Runs on the bridge loop only, so no lock is needed around the client.
        if self._client is None:
            self._client = await Client.connect(
                self.address, namespace=self.namespace, data_converter=data_converter()
            )
        return self._client

    def call(self, operation: Callable[[Client], Awaitable[T]], timeout: float | None = None) -> T:
        """Run `operation(client)` on the bridge loop and wait for it.

        Raises TemporalUnavailable when Temporal can't be reached within the timeout.
        """
        loop = self._ensure_loop()
        timeout = self.timeout if timeout is None else timeout

        async def run() -> T:
            try:
                client = await self._get_client()
            except (RuntimeError, OSError, RPCError) as error:
                raise TemporalUnavailable(
                    f"Cannot connect to Temporal at {self.address}: {error}"
                ) from error
            return await operation(client)

        future = asyncio.run_coroutine_threadsafe(run(), loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise TemporalUnavailable(
                f"Temporal at {self.address} did not answer within {timeout:g}s."
            ) from None
        except RPCError as error:
            if error.status in _UNAVAILABLE_CODES:
                raise TemporalUnavailable(f"Temporal at {self.address}: {error}") from error
            if error.status == RPCStatusCode.NOT_FOUND:
                raise WorkflowNotFound(str(error)) from error
            raise

    def _rpc_timeout(self) -> timedelta:
        return timedelta(seconds=self.timeout)

    # --- operations -------------------------------------------------------------------------

    def start_workflow(
        self,
        *,
        workflow: str,
        arg: Any,
        workflow_id: str,
        task_queue: str,
        execution_timeout: int,
        start_delay: int = 0,
    ) -> str:
        """Start the workflow (its first task `start_delay` seconds from now); return its run
        id. The id makes a repeated start a no-op."""

        async def start(client: Client) -> str:
            try:
                handle = await client.start_workflow(
                    workflow,
                    arg,
                    id=workflow_id,
                    task_queue=task_queue,
                    execution_timeout=timedelta(seconds=execution_timeout),
                    start_delay=timedelta(seconds=start_delay) if start_delay else None,
                    rpc_timeout=self._rpc_timeout(),
                )
            except WorkflowAlreadyStartedError as error:
                raise WorkflowAlreadyStarted(error.run_id or "") from error
            return handle.result_run_id or ""

        return self.call(start)

    def cancel_workflow(self, workflow_id: str) -> None:
        async def cancel(client: Client) -> None:
            await client.get_workflow_handle(workflow_id).cancel(rpc_timeout=self._rpc_timeout())

        self.call(cancel)

    def describe(self, workflow_id: str) -> Execution:
        """The execution's status, and its result or failure once closed."""

        async def describe(client: Client) -> Execution:
            handle: WorkflowHandle = client.get_workflow_handle(workflow_id)
            description = await handle.describe(rpc_timeout=self._rpc_timeout())
            status = description.status
            result, failure = None, ""
            if status == WorkflowExecutionStatus.COMPLETED:
                result = await handle.result(rpc_timeout=self._rpc_timeout())
            elif status == WorkflowExecutionStatus.FAILED:
                try:
                    await handle.result(rpc_timeout=self._rpc_timeout())
                except Exception as error:  # the failure is what we came for
                    failure = failure_message(error)
            pending = description.raw_description.pending_activities
            for info in pending:
                if info.HasField("last_failure"):
                    await _decode_failure(client, info.last_failure)
            # Heartbeat details are payloads: decoded with the client's converter (and any
            # codec it carries), as the worker encoded them.
            details = [
                await client.data_converter.decode(list(info.heartbeat_details.payloads))
                for info in pending
            ]
            return Execution(
                workflow_id=workflow_id,
                run_id=description.run_id,
                status=status.name if status else None,
                result=result,
                failure=failure,
                pending_activities=tuple(readable_pending_activities(pending, details)),
                started_at=description.start_time,
            )

        return self.call(describe)

    def terminate_workflow(self, workflow_id: str, reason: str) -> None:
        async def terminate(client: Client) -> None:
            handle = client.get_workflow_handle(workflow_id)
            await handle.terminate(reason=reason, rpc_timeout=self._rpc_timeout())

        self.call(terminate)

    def history_page(self, workflow_id: str, *, page_size: int, cursor: str = "") -> HistoryPage:
        """`page_size` events of the execution's history, oldest first, as readable dicts.

        Temporal pages in whole batches (its page size is a hint), so the cursor is
        Temporal's page token plus how many events of that page were already returned.
        Raises ValueError for a cursor this method didn't make (or Temporal refuses).
        """
        token, skip = _decode_cursor(cursor)

        async def fetch(client: Client) -> HistoryPage:
            nonlocal token, skip
            events: list = []
            while True:
                response = await client.workflow_service.get_workflow_execution_history(
                    GetWorkflowExecutionHistoryRequest(
                        namespace=self.namespace,
                        execution=WorkflowExecution(workflow_id=workflow_id),
                        maximum_page_size=page_size,
                        next_page_token=token,
                    ),
                    timeout=self._rpc_timeout(),
                )
                batch = list(response.history.events)[skip:]
                wanted = page_size - len(events)
                events += batch[:wanted]
                if len(batch) > wanted:
                    next_cursor = _encode_cursor(token, skip + wanted)
                    break
                token, skip = response.next_page_token, 0
                if not token:
                    next_cursor = None
                    break
                if len(events) == page_size:
                    next_cursor = _encode_cursor(token, 0)
                    break
            await _decode_failures(client, events)
            return HistoryPage(events=readable_events(events), next_cursor=next_cursor)

        try:
            return self.call(fetch)
        except RPCError as error:
            # A page token Temporal didn't give out (forged, or another execution's).
            if cursor and error.status == RPCStatusCode.INVALID_ARGUMENT:
                raise ValueError("Temporal refused the page token.") from error
            raise

    def timeline(self, workflow_id: str, *, max_events: int = 5000) -> list[dict]:
        """The execution's readable timeline (`history.run_timeline`) from its whole history,
        read in pages; at most `max_events` events are read."""

        async def fetch(client: Client) -> list[dict]:
            events: list = []
            token = b""
            while len(events) < max_events:
                response = await client.workflow_service.get_workflow_execution_history(
                    GetWorkflowExecutionHistoryRequest(
                        namespace=self.namespace,
                        execution=WorkflowExecution(workflow_id=workflow_id),
                        maximum_page_size=min(1000, max_events - len(events)),
                        next_page_token=token,
                    ),
                    timeout=self._rpc_timeout(),
                )
                events += response.history.events
                token = response.next_page_token
                if not token:
                    break
            await _decode_failures(client, events)
            return run_timeline(events)

        return self.call(fetch)

    def check_health(self) -> dict:
        async def check(client: Client) -> dict:
            await client.service_client.check_health(timeout=self._rpc_timeout())
            info = await client.workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=self._rpc_timeout()
            )
            return {"server_version": info.server_version}

        return self.call(check)


_bridge: TemporalBridge | None = None
_bridge_lock = threading.Lock()


def get_bridge() -> TemporalBridge:
    """The process's bridge, configured from settings at first use."""
    global _bridge
    with _bridge_lock:
        if _bridge is None:
            _bridge = TemporalBridge(
                address=settings.TEMPORAL_ADDRESS,
                namespace=settings.TEMPORAL_NAMESPACE,
                timeout=settings.TEMPORAL_RPC_TIMEOUT,
            )
        return _bridge


def reset_bridge() -> None:
    """Forget the bridge so the next call builds one from current settings (tests, reloads)."""
    global _bridge
    with _bridge_lock:
        old, _bridge = _bridge, None
    if old is not None and old._loop is not None and old._pid == os.getpid():
        old._loop.call_soon_threadsafe(old._loop.stop)
