from orchestration.platform import sync
from orchestration.workflows.activity import console_activity, heartbeat, resume_checkpoint

from .definition import SYNC_PLATFORM_DATA, PlatformSyncInput, SyncResult


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


ACTIVITIES = (sync_platform_data,)
