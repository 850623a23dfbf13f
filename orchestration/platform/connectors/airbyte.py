"""The connectors of kind `airbyte`: a pinned Airbyte source connector (see
`orchestration.platform.airbyte.sources`) run as a subprocess, read to pages for the sync.

A sync's first `fetch_page` discovers the source's streams, configures the ones its
normalization reads (incremental where the stream has a cursor) and starts `read`, with the
integration's last committed state when there is one. Each page is what came before a
`STATE` message: its records, kept raw, and the state after them as the page's cursor, so
the sync commits the records and the state together and a retry resumes from it. The
connector's own grain decides how far back a retry reads again; upserts by primary key make
a second read of a record harmless.

A `TRACE` error fails the sync with the connector's message: `config_error` at once (the
settings are wrong), anything else retryably, as does a non-zero exit. Secrets of the
configuration never appear in a message: they are masked.
"""

import hashlib
import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from rest_framework import serializers

from orchestration.platform.airbyte import install, spec
from orchestration.platform.airbyte.process import ConnectorProcess, ConnectorTimeout
from orchestration.platform.airbyte.sources import SOURCES, Source

from .base import (
    ConnectorFailure,
    ConnectorUnavailable,
    Page,
    SourceRecord,
    SyncTarget,
    nothing_while_idle,
)

logger = logging.getLogger(__name__)
# A page holds at most this many records even when the source checkpoints less often.
PAGE_RECORDS = 2000
LOG_LINES_KEPT = 40
DISCOVER_SECONDS = 120
CHECK_SECONDS = 30
KEY_LENGTH = 255
# How requests and urllib3 name the host they couldn't reach, in a connector's log.
UNREACHABLE_HOST = re.compile(r"host='([^']+)'")


class AirbyteConfigSerializer(serializers.Serializer):
    """The source's configuration, validated against its own spec (defaults filled in)."""

    # Not `source`: a DRF field's own attribute by that name.
    airbyte_source: ClassVar[Source]

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["Expected an object of the connector's settings."]}
            )
        config = spec.with_defaults(self.airbyte_source, data)
        errors = spec.config_errors(self.airbyte_source, config)
        if errors:
            raise serializers.ValidationError(errors)
        return config

    def to_representation(self, instance: Any) -> Any:
        return instance


class AirbyteConnector:
    """Reads one integration through `source`; one `read` process for the whole sync."""

    source: ClassVar[Source]
    name: ClassVar[str]
    label: ClassVar[str]
    config_serializer: ClassVar[type[serializers.Serializer]]
    uses_credentials = False
    resumes_mid_read: ClassVar[bool]

    def __init__(
        self, *, config: dict[str, Any], credentials: dict[str, str] | None, target: SyncTarget
    ) -> None:
        self.config = config
        self.target = target
        self._secrets = _secret_values(config, spec.secret_fields(self.source, config))
        self._process: ConnectorProcess | None = None
        self._messages: Iterator[dict[str, Any]] | None = None
        self._primary_keys: dict[str, list[list[str]]] = {}
        self._states: dict[str, dict[str, Any]] = {}  # by stream (or "" for a global state)
        self._error: dict[str, Any] | None = None
        # The source's last log lines, and the end of its stderr once it is closed.
        self._log: deque[str] = deque(maxlen=LOG_LINES_KEPT)
        self._stderr: list[str] = []

    def fetch_page(self, cursor: str | None, idle: Callable[[], None] = nothing_while_idle) -> Page:
        if self._messages is None:
            self._start(cursor, idle)
        raw: list[SourceRecord] = []
        for message in self._messages:
            kind = message.get("type")
            if kind == "RECORD":
                raw.append(self._raw(message.get("record") or {}))
                if len(raw) >= PAGE_RECORDS:
                    return Page(records=[], next_cursor=self._cursor(), raw=raw)
            elif kind == "STATE":
                self._remember(message.get("state") or {})
                return Page(records=[], next_cursor=self._cursor(), raw=raw)
            elif kind == "TRACE":
                self._trace(message.get("trace") or {})
            elif kind == "LOG":
                log = message.get("log") or {}
                self._log.append(f"{log.get('level', 'INFO')} {str(log.get('message', ''))[:500]}")
        self._finish()
        return Page(records=[], next_cursor=None, raw=raw)

    def close(self) -> None:
        if self._process is not None:
            tail = [line for line in self._process.stderr_tail().splitlines() if line.strip()]
            self._stderr = [f"stderr: {line[:500]}" for line in tail[-LOG_LINES_KEPT // 2 :]]
            self._process.close()

    def said(self) -> list[str]:
        return [self._masked(line) for line in (*self._log, *self._stderr)]

    # Starting the read.

    def _start(self, cursor: str | None, idle: Callable[[], None]) -> None:
        command = install.installed_command(self.source)
        catalog = self._configured_catalog(command)
        # A stream read in full is read from its beginning: as Airbyte's platform does, its
        # state isn't passed (some sources, faker's, would read it and emit nothing).
        in_full = {
            item["stream"]["name"]
            for item in catalog["streams"]
            if item["sync_mode"] != "incremental"
        }
        state = [
            message for message in _state_from(cursor) if _state_stream(message) not in in_full
        ]
        for message in state:
            self._remember(message)
        self._process = ConnectorProcess(
            command, "read", config=self.config, catalog=catalog, state=state
        )
        self._messages = self._process.messages(idle)

    def _configured_catalog(self, command) -> dict[str, Any]:
        catalog, self._primary_keys = configured_catalog(
            self.source, command, self.config, self._secrets, self.target.streams
        )
        return catalog

    # Reading.

    def _raw(self, record: dict[str, Any]) -> SourceRecord:
        stream = str(record.get("stream", ""))
        data = record.get("data") or {}
        return SourceRecord(
            stream=stream, key=record_key(data, self._primary_keys.get(stream)), data=data
        )

    def _remember(self, state: dict[str, Any]) -> None:
        if state.get("type") == "STREAM":
            self._states[f"stream:{_state_stream(state)}"] = _without_stats(state)
        else:  # GLOBAL or LEGACY: one state for the whole source
            self._states[""] = _without_stats(state)

    def _cursor(self) -> str | None:
        return json.dumps(list(self._states.values()), sort_keys=True) if self._states else None

    def _trace(self, trace: dict[str, Any]) -> None:
        if trace.get("type") == "ERROR" and self._error is None:
            self._error = trace.get("error") or {}

    def _finish(self) -> None:
        process = self._process
        if self._error is not None:
            message = self._masked(error_text(self._error))
            text = f"{self.source.name} failed: {message}"
            if self._error.get("failure_type") == "config_error":
                raise ConnectorFailure(text)
            raise ConnectorUnavailable(text)
        if process.returncode:
            raise ConnectorUnavailable(
                f"{self.source.name} exited with status {process.returncode}: "
                f"{self._masked(_last_lines(process.stderr_tail()))}"
            )

    def _masked(self, text: str) -> str:
        return masked(text, self._secrets)


@dataclass(frozen=True)
class CheckOutcome:
    succeeded: bool
    message: str  # the connector's own words (secrets masked)
    seconds: float


def connection_check(
    source: Source, config: dict[str, Any], *, deadline_seconds: float = CHECK_SECONDS
) -> CheckOutcome:
    """Ask the connector whether it can reach its source with `config` (`check`), within
    `deadline_seconds`. A failed check exits 0: its CONNECTION_STATUS says so. A connector
    still trying when the time is up (HubSpot backs off for 82 s with no network) is killed,
    and its last log line that names a host says what it couldn't reach."""
    secrets = _secret_values(config, spec.secret_fields(source, config))
    started = time.monotonic()
    status, logs, error = None, [], None
    try:
        command = install.installed_command(source)
        with ConnectorProcess(
            command, "check", config=config, deadline_seconds=deadline_seconds
        ) as run:
            for message in run.messages():
                kind = message.get("type")
                if kind == "CONNECTION_STATUS":
                    status = message.get("connectionStatus") or {}
                elif kind == "LOG":
                    logs.append(str((message.get("log") or {}).get("message", "")))
                    del logs[:-20]
                elif kind == "TRACE" and (message.get("trace") or {}).get("type") == "ERROR":
                    error = message["trace"].get("error") or {}
            stderr = run.stderr_tail()
    except ConnectorTimeout:
        host = _unreachable_host(logs)
        text = (
            f"{source.name} couldn't reach {host} and was still trying after "
            f"{deadline_seconds:.0f} s."
            if host
            else f"{source.name} didn't answer within {deadline_seconds:.0f} s."
        )
        return CheckOutcome(False, masked(text, secrets), time.monotonic() - started)
    except ConnectorUnavailable as unavailable:  # not installed, and may not be here
        return CheckOutcome(False, str(unavailable), time.monotonic() - started)
    seconds = time.monotonic() - started
    if status is not None:
        succeeded = status.get("status") == "SUCCEEDED"
        text = status.get("message") or ("Connected." if succeeded else "The check failed.")
        return CheckOutcome(succeeded, masked(str(text), secrets), seconds)
    if error is not None:
        text = error_text(error)
        return CheckOutcome(False, masked(str(text), secrets), seconds)
    return CheckOutcome(False, masked(_last_lines(stderr), secrets), seconds)


def _unreachable_host(logs: list[str]) -> str | None:
    for line in reversed(logs):
        found = UNREACHABLE_HOST.search(line)
        if found:
            return found.group(1)
    return None


def configured_catalog(
    source: Source,
    command,
    config: dict[str, Any],
    secrets: list[str],
    wanted: dict[str, str | None] | None,
) -> tuple[dict[str, Any], dict[str, list[list[str]]]]:
    """The catalog a `read` is given: the `wanted` streams (every one the source offers when
    None) in their sync mode (None: incremental where the stream has a cursor); and each
    stream's primary key. A wanted stream the source doesn't offer, or one wanted
    incrementally that has no cursor, is a ConnectorFailure naming it."""
    streams, primary_keys, offered = [], {}, set()
    for stream in discovered_streams(source, command, config, secrets):
        offered.add(stream["name"])
        if wanted is not None and stream["name"] not in wanted:
            continue
        can_continue = incremental_possible(stream)
        mode = (wanted or {}).get(stream["name"]) or (
            "incremental" if can_continue else "full_refresh"
        )
        if mode == "incremental" and not can_continue:
            raise ConnectorFailure(
                f"{source.name}'s {stream['name']} stream can't be read incrementally (it "
                "has no cursor): choose full_refresh for it."
            )
        primary_key = stream.get("source_defined_primary_key") or []
        primary_keys[stream["name"]] = primary_key
        streams.append(
            {
                "stream": stream,
                "sync_mode": mode,
                "cursor_field": stream.get("default_cursor_field") or [],
                "primary_key": primary_key,
                "destination_sync_mode": "append_dedup" if primary_key else "append",
            }
        )
    missing = sorted(set(wanted or ()) - offered)
    if missing:
        raise ConnectorFailure(
            f"{source.name} offers no stream named {', '.join(missing)} with these settings "
            f"(it offers {', '.join(sorted(offered)) or 'none'})."
        )
    return {"streams": streams}, primary_keys


def incremental_possible(stream: dict[str, Any]) -> bool:
    """Whether a discovered stream can be read from where the last read stopped: it says it
    supports incremental reads and has a cursor."""
    return "incremental" in stream.get("supported_sync_modes", []) and bool(
        stream.get("default_cursor_field") or stream.get("source_defined_cursor")
    )


def streams_offered(
    source: Source, config: dict[str, Any], *, deadline_seconds: float = DISCOVER_SECONDS
) -> list[dict[str, Any]]:
    """The streams the source offers with `config` (`discover` within `deadline_seconds`),
    as its catalog describes them. Raises ConnectorFailure (the settings) or
    ConnectorUnavailable (the source, or the connector not installed), secrets masked."""
    secrets = _secret_values(config, spec.secret_fields(source, config))
    command = install.installed_command(source)
    return discovered_streams(source, command, config, secrets, deadline_seconds)


def discovered_streams(
    source: Source,
    command,
    config: dict[str, Any],
    secrets: list[str],
    deadline_seconds: float = DISCOVER_SECONDS,
) -> list[dict[str, Any]]:
    """The streams the source offers with this configuration (`discover`)."""
    catalog, failure = None, None
    try:
        with ConnectorProcess(
            command, "discover", config=config, deadline_seconds=deadline_seconds
        ) as run:
            for message in run.messages():
                if message.get("type") == "CATALOG":
                    catalog = message.get("catalog") or {}
                elif (
                    message.get("type") == "TRACE"
                    and (message.get("trace") or {}).get("type") == "ERROR"
                ):
                    failure = message["trace"].get("error") or {}
            stderr = run.stderr_tail()
    except ConnectorTimeout:
        raise ConnectorUnavailable(
            f"{source.name} didn't list its streams within {deadline_seconds:.0f} s."
        ) from None
    if failure is not None:
        text = masked(error_text(failure), secrets)
        if failure.get("failure_type") == "config_error":
            raise ConnectorFailure(f"{source.name}: {text}")
        raise ConnectorUnavailable(f"{source.name}: {text}")
    if catalog is None:
        raise ConnectorUnavailable(
            f"{source.name} listed no streams: {masked(_last_lines(stderr), secrets)}"
        )
    return list(catalog.get("streams") or [])


def error_text(error: dict[str, Any]) -> str:
    """A TRACE error's message, and its internal message when that says more (the message is
    often only "Something went wrong in the connector")."""
    message = str(error.get("message") or "").strip()
    internal = str(error.get("internal_message") or "").strip()
    if internal and internal not in message:
        message = f"{message} ({internal[:500]})" if message else internal[:500]
    return message or "an error without a message"


def record_key(data: dict[str, Any], primary_key: list[list[str]] | None) -> str:
    """A record's identity in its stream: its primary key's values as JSON, or a digest of
    the whole record when the stream has none (then only an identical record is the same)."""
    if primary_key:
        values = []
        for path in primary_key:
            value: Any = data
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            values.append(value)
        key = json.dumps(values, separators=(",", ":"), default=str)
    else:
        key = ""
    if not key or len(key) > KEY_LENGTH:
        canonical = json.dumps(values if primary_key else data, sort_keys=True, default=str)
        key = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    return key


def masked(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "****")
    return text


def _secret_values(config: Any, names: set[str]) -> list[str]:
    found: list[str] = []
    if isinstance(config, dict):
        for key, value in config.items():
            if key in names and isinstance(value, str) and value:
                found.append(value)
            else:
                found += _secret_values(value, names)
    elif isinstance(config, list):
        for item in config:
            found += _secret_values(item, names)
    return sorted(found, key=len, reverse=True)  # a secret inside another is masked whole


def _state_from(cursor: str | None) -> list[dict[str, Any]]:
    """The state messages a cursor holds; none from an older connector's cursor."""
    if not cursor:
        return []
    try:
        state = json.loads(cursor)
    except ValueError:
        return []
    return [item for item in state if isinstance(item, dict)] if isinstance(state, list) else []


def _state_stream(state: dict[str, Any]) -> str | None:
    """The stream a STREAM state is of (None for a GLOBAL or LEGACY one)."""
    if state.get("type") != "STREAM":
        return None
    return ((state.get("stream") or {}).get("stream_descriptor") or {}).get("name", "")


def _without_stats(state: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value for key, value in state.items() if key not in {"sourceStats", "destinationStats"}
    }


def _last_lines(text: str, lines: int = 5) -> str:
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-1000:] or "no message"


def airbyte_connectors() -> list[type[AirbyteConnector]]:
    """One connector class per pinned source, named as the source is."""
    classes = []
    for source in SOURCES.values():
        serializer = type(
            f"{source.name.title().replace('-', '')}ConfigSerializer",
            (AirbyteConfigSerializer,),
            {"airbyte_source": source},
        )
        classes.append(
            type(
                f"{source.name.title().replace('-', '')}Connector",
                (AirbyteConnector,),
                {
                    "source": source,
                    "name": source.name,
                    "label": f"{source.label} (Airbyte {source.package} {source.version})",
                    "config_serializer": serializer,
                    "resumes_mid_read": source.resumes_mid_read,
                },
            )
        )
    return classes
