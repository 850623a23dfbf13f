"""What every connector is: something that reads one page of customer records after a cursor.

A connector is built for one integration (its validated configuration and credentials) and
knows nothing of the database or of Temporal; `orchestration.platform.sync` pages through it,
upserts each page and keeps the cursor.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from rest_framework import serializers

from orchestration.platform.errors import DataValidationError


@dataclass(frozen=True)
class Record:
    """One customer's metrics as one platform reports them."""

    external_id: str
    email: str
    sessions: int
    spend: Decimal
    days_since_last_activity: int
    support_tickets: int
    churned: bool


# A record's values besides its id, as SyncedRecord names them.
RECORD_VALUES = tuple(f.name for f in dataclasses.fields(Record) if f.name != "external_id")


@dataclass(frozen=True)
class SourceRecord:
    """One record as a source connector emitted it, before normalization: personal data,
    never logged."""

    stream: str
    key: str  # its primary key in the stream (see connectors.airbyte.record_key)
    data: dict[str, Any]


@dataclass(frozen=True)
class Page:
    records: list[Record]
    # Where the next page starts; None when this was the last one.
    next_cursor: str | None
    # What a source connector emitted, kept as it came (normalized afterwards).
    raw: list[SourceRecord] = field(default_factory=list)


class ConnectorFailure(DataValidationError):
    """The source answered in a way no retry will change (a 4xx, a malformed page): the sync
    fails at once, with a message naming the page and what was wrong."""


class ConnectorUnavailable(Exception):
    """The source could not be read for now (timeouts, 429s, 5xx past their retries): a
    retryable failure; the next attempt resumes from the cursor."""


@dataclass(frozen=True)
class SyncTarget:
    """What a connector may know about the integration it reads for (no personal data)."""

    client_key: str  # a stable key for the client (the demo's generator seeds from it)
    platform: str
    # The streams to read, for a source with several, each with its sync mode
    # ("incremental", "full_refresh", or None: incremental where the stream can be);
    # None: every stream it offers.
    streams: dict[str, str | None] | None = None


def nothing_while_idle() -> None:
    """The `idle` of a reader with nothing to do while it waits."""


class Connector(Protocol):
    name: ClassVar[str]
    label: ClassVar[str]
    # Validates and completes the integration's `config` (defaults filled in).
    config_serializer: ClassVar[type[serializers.Serializer]]
    # Whether the connector uses credentials ({"header": ..., "value": ...}).
    uses_credentials: ClassVar[bool]
    # Whether a retried sync may continue from the last page's cursor (else it reads again
    # from where the sync began).
    resumes_mid_read: ClassVar[bool]

    def __init__(
        self, *, config: dict[str, Any], credentials: dict[str, str] | None, target: SyncTarget
    ) -> None: ...

    # `idle` is called while the source is slow to answer (the sync heartbeats there).
    def fetch_page(
        self, cursor: str | None, idle: Callable[[], None] = nothing_while_idle
    ) -> Page: ...

    def close(self) -> None: ...

    # What the source said while it read, for diagnosis (its log's last lines, secrets
    # masked); [] for a connector with nothing to say. Asked after `close`.
    def said(self) -> list[str]: ...
