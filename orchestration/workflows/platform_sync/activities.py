from orchestration.platform import sync
from orchestration.workflows.activity import console_activity, heartbeat, resume_checkpoint

from .definition import (
    NORMALIZE_PLATFORM_DATA,
    SYNC_PLATFORM_DATA,
    NormalizeInput,
    NormalizeResult,
    PlatformSyncInput,
    SyncResult,
)


@console_activity(SYNC_PLATFORM_DATA)
def sync_platform_data(input: PlatformSyncInput) -> SyncResult:
    outcome = sync.platform_records_sync(
        run_pk=input.run,
        organization_id=input.organization_id,
        client_id=input.client_id,
        platform=input.platform,
        full=input.full,
        heartbeat=heartbeat,
        checkpoint=resume_checkpoint(input.checkpoint),
    )
    progress = outcome.progress
    return SyncResult(
        client_id=input.client_id,
        platform=input.platform,
        records=outcome.records,
        created=progress.created,
        updated=progress.updated,
        fetched=progress.fetched,
        pages=progress.pages,
        full=progress.full,
    )


@console_activity(NORMALIZE_PLATFORM_DATA)
def normalize_platform_data(input: NormalizeInput) -> NormalizeResult:
    heartbeat("normalizing")
    normalized = sync.platform_records_normalize(
        organization_id=input.organization_id, client_id=input.client_id, platform=input.platform
    )
    return NormalizeResult(
        customers=normalized.customers,
        created=normalized.created,
        updated=normalized.updated,
        mapped=normalized.mapped,
    )


ACTIVITIES = (sync_platform_data, normalize_platform_data)
