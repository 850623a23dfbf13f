from orchestration.platform import sync
from orchestration.temporal.activities import console_activity, heartbeat

from .definition import SYNC_PLATFORM_DATA, PlatformSyncInput, SyncResult


@console_activity(SYNC_PLATFORM_DATA)
def sync_platform_data(input: PlatformSyncInput) -> SyncResult:
    records, created = sync.platform_records_sync(
        organization_id=input.organization_id,
        client_id=input.client_id,
        platform=input.platform,
        heartbeat=heartbeat,
    )
    return SyncResult(
        client_id=input.client_id, platform=input.platform, records=records, created=created
    )


ACTIVITIES = (sync_platform_data,)
