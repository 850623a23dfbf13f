"""Platform sync: read one integration's records through its connector, page by page.

Each page is upserted (unique per client, platform and source record id) in one transaction
with the sync's progress (cursor and counts) on the integration, and then heartbeated; so a
retried attempt (the worker died, the source was down) resumes after the last page it
committed, whichever of its last heartbeat and the integration's record is further on (the
SDK sends heartbeats throttled, so the record can be the fresher). Only the page in flight is
read again, and reading a page twice only updates rows in place.

A finished sync leaves its numbers and the cursor the next sync continues from on the
integration (`cursor`, `last_sync`); `full=True` starts from the beginning instead. The
cursor to continue from is the last one the source returned, or, when the last page came
without one, the cursor that page was read with (the next sync reads it again: new records
appended there are found, and upserts make the repeat harmless). A sync that fails leaves
`last_sync` saying so: state "failed", the connector's message and when (`at`).
"""

import dataclasses
import json
import logging
from dataclasses import dataclass

from django.db import DatabaseError, transaction
from django.utils import timezone

from orchestration.models import ConnectorLog, Integration, RawRecord, SyncedRecord

from .connectors import (
    ConnectorFailure,
    ConnectorUnavailable,
    Page,
    SyncTarget,
    connector_for,
    connector_type,
)
from .connectors.base import SourceRecord
from .credentials import CredentialsUnreadable, integration_opened
from .customers import customers_upsert
from .errors import DataValidationError
from .normalization import Normalized, customers_normalize, streams_to_read
from .services import Heartbeat

logger = logging.getLogger(__name__)
RUNNING, COMPLETED, FAILED = "running", "completed", "failed"


@dataclass(frozen=True)
class SyncProgress:
    run: str | None
    full: bool
    started_from: str | None
    cursor: str | None
    pages: int = 0
    fetched: int = 0
    created: int = 0
    updated: int = 0
    state: str = RUNNING
    error: str = ""  # why a failed sync stopped (the connector's message)
    # A source connector's records fetched, by stream.
    streams: dict[str, int] = dataclasses.field(default_factory=dict)

    def checkpoint(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_checkpoint(cls, text: str | None) -> "SyncProgress | None":
        try:
            return cls.from_record(json.loads(text)) if text else None
        except ValueError:
            return None

    @classmethod
    def from_record(cls, data: object) -> "SyncProgress | None":
        """From a checkpoint or `Integration.last_sync`; None when it isn't a sync's (an
        older record, another step's checkpoint): then the sync starts as if there were none."""
        if not isinstance(data, dict):
            return None
        known = {field.name for field in dataclasses.fields(cls)}
        try:
            return cls(**{key: value for key, value in data.items() if key in known})
        except TypeError:
            return None


@dataclass(frozen=True)
class SyncOutcome:
    progress: SyncProgress
    records: int  # the client's records from this platform after the sync


def platform_records_normalize(
    *, organization_id: int, client_id: int, platform: str
) -> Normalized:
    """Make the client's customers of the platform from the raw records its integration's
    source connector left (orchestration.platform.normalization)."""
    return customers_normalize(_integration(organization_id, client_id, platform))


def _integration(organization_id: int, client_id: int, platform: str) -> Integration:
    integration = (
        Integration.objects.select_related("client")
        .filter(client_id=client_id, client__organization_id=organization_id, platform=platform)
        .first()
    )
    if integration is None:
        raise DataValidationError(
            f"Client {client_id} has no {platform} integration in this organization."
        )
    return integration


def platform_records_sync(
    *,
    organization_id: int,
    client_id: int,
    platform: str,
    heartbeat: Heartbeat,
    run_pk: str | None = None,
    full: bool = False,
    checkpoint: str | None = None,
) -> SyncOutcome:
    """Sync the client's `platform` integration through its connector; `run_pk` is the run
    doing it (None for the demo seed), `checkpoint` the last heartbeat's, if any."""
    integration = _integration(organization_id, client_id, platform)
    progress = _resumable(integration, run_pk, SyncProgress.from_checkpoint(checkpoint))
    if progress is None:
        progress = _begin(integration, run_pk, full)
    elif progress.state == COMPLETED:
        return _outcome(integration, progress)  # a retry after the sync had finished
    else:
        progress = dataclasses.replace(progress, state=RUNNING, error="")
        if not connector_type(integration.connector).resumes_mid_read:
            # Its checkpoints can't be read from (faker's restart or stop): read again from
            # where the sync began; upserts make the second read of a record harmless.
            progress = dataclasses.replace(progress, cursor=progress.started_from)
    heartbeat(_progress_line(progress), progress.checkpoint())
    try:
        connector = _connector(integration)
        try:
            while True:
                page = _read(connector, progress, heartbeat)
                progress = _commit_page(integration, progress, page)
                heartbeat(_progress_line(progress), progress.checkpoint())
                if page.next_cursor is None:
                    break
        finally:
            connector.close()
            _keep_what_it_said(integration, run_pk, connector.said())
    except (DataValidationError, ConnectorUnavailable) as failure:  # ConnectorFailure is one
        # The integration says so, when and why, rather than "running" for ever; a retry of
        # the run resumes from the pages it committed all the same.
        _save_progress(integration, dataclasses.replace(progress, state=FAILED, error=str(failure)))
        raise
    progress = dataclasses.replace(progress, state=COMPLETED)
    with transaction.atomic():
        integration.cursor = progress.cursor or ""
        integration.last_synced_at = timezone.now()
        _save_progress(integration, progress, also=["cursor", "last_synced_at"])
    return _outcome(integration, progress)


def _resumable(
    integration: Integration, run_pk: str | None, heartbeated: SyncProgress | None
) -> SyncProgress | None:
    """This run's progress so far, from the further on of its heartbeat and its record."""
    if run_pk is None:
        return None
    candidates = [
        progress
        for progress in (SyncProgress.from_record(integration.last_sync), heartbeated)
        if progress is not None and progress.run == run_pk
    ]
    return max(candidates, key=lambda p: (p.state == COMPLETED, p.pages), default=None)


def _begin(integration: Integration, run_pk: str | None, full: bool) -> SyncProgress:
    """Record a new sync on the integration. Syncs of one integration may overlap (a
    schedule and a person, or a load of starts): their upserts are idempotent, the
    integration keeps the progress of whichever wrote last, and a sync resuming after another
    has written since resumes from its own heartbeat."""
    start = None if full else (integration.cursor or None)
    progress = SyncProgress(run=run_pk, full=full, started_from=start, cursor=start)
    _save_progress(integration, progress)
    return progress


def _connector(integration: Integration):
    try:
        config, credentials = integration_opened(integration)
    except CredentialsUnreadable as error:
        raise DataValidationError(str(error)) from None
    return connector_for(
        integration.connector,
        config=config,
        credentials=credentials,
        target=SyncTarget(
            client_key=integration.client.email,
            platform=integration.platform,
            streams=streams_to_read(integration.connector, integration.streams or {}),
        ),
    )


def _read(connector, progress: SyncProgress, heartbeat: Heartbeat) -> Page:
    cursor = progress.cursor or "none: the first page"
    # A source connector's state is long JSON and its pages its own: its message says enough.
    where = f"Page {progress.pages + 1} (cursor {cursor}): " if len(cursor) <= 80 else ""

    def idle() -> None:
        heartbeat(_progress_line(progress), progress.checkpoint())

    try:
        return connector.fetch_page(progress.cursor, idle)
    except ConnectorFailure as failure:
        raise ConnectorFailure(f"{where}{failure}") from None


def _commit_page(integration: Integration, progress: SyncProgress, page: Page) -> SyncProgress:
    """The page's records (customers, or a source connector's raw records) and the progress
    after them, in one transaction."""
    with transaction.atomic():
        locked = Integration.objects.select_for_update().get(pk=integration.pk)
        created, updated = customers_upsert(
            client_id=locked.client_id, platform=locked.platform, customers=page.records
        )
        raw_created, raw_updated = raw_records_upsert(locked, page.raw)
        progress = dataclasses.replace(
            progress,
            cursor=page.next_cursor if page.next_cursor is not None else progress.cursor,
            pages=progress.pages + 1,
            fetched=progress.fetched + len(page.records) + len(page.raw),
            created=progress.created + created + raw_created,
            updated=progress.updated + updated + raw_updated,
            streams=_per_stream(progress.streams, page.raw),
        )
        _save_progress(integration, progress)
    return progress


def raw_records_upsert(integration: Integration, raw: list[SourceRecord]) -> tuple[int, int]:
    """Upsert a source connector's records by (stream, key); (created, updated)."""
    if not raw:
        return 0, 0
    by_key = {(item.stream, item.key): item for item in raw}
    existing = 0
    for stream in {stream for stream, _ in by_key}:
        existing += RawRecord.objects.filter(
            integration=integration,
            stream=stream,
            key__in=[key for (s, key) in by_key if s == stream],
        ).count()
    RawRecord.objects.bulk_create(
        [
            RawRecord(integration=integration, stream=item.stream, key=item.key, data=item.data)
            for item in by_key.values()
        ],
        update_conflicts=True,
        unique_fields=["integration", "stream", "key"],
        update_fields=["data", "synced_at"],
    )
    return len(by_key) - existing, existing


def _save_progress(integration: Integration, progress: SyncProgress, also=()) -> None:
    integration.last_sync = {**dataclasses.asdict(progress), "at": timezone.now().isoformat()}
    integration.save(update_fields=["last_sync", *also])


def _keep_what_it_said(integration: Integration, run_pk: str | None, lines: list[str]) -> None:
    if not lines:
        return
    try:
        ConnectorLog.objects.create(integration=integration, run_id=run_pk, lines=lines)
    except DatabaseError as error:  # the sync's own outcome (or failure) matters more
        logger.warning("the connector's log was not kept: %s", error)


def _per_stream(counts: dict[str, int], raw: list[SourceRecord]) -> dict[str, int]:
    counts = dict(counts)
    for record in raw:
        counts[record.stream] = counts.get(record.stream, 0) + 1
    return counts


def _progress_line(progress: SyncProgress) -> str:
    line = f"page {progress.pages}: {progress.fetched} records fetched"
    if progress.streams:
        line += " (" + ", ".join(f"{name} {n}" for name, n in progress.streams.items()) + ")"
    return line


def _outcome(integration: Integration, progress: SyncProgress) -> SyncOutcome:
    records = SyncedRecord.objects.filter(
        client_id=integration.client_id, platform=integration.platform
    ).count()
    return SyncOutcome(progress=progress, records=records)
