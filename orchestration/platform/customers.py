"""Writing a client's customers from one platform: an upsert by the source's record id."""

import dataclasses

from orchestration.models import SyncedRecord

from .connectors.base import RECORD_VALUES, Record

# What a record seen again overwrites: everything the source says.
UPDATED_FIELDS = [*RECORD_VALUES, "synced_at"]


def customers_upsert(*, client_id: int, platform: str, customers: list[Record]) -> tuple[int, int]:
    """Upsert `customers` (the last of an id's occurrences wins); (created, updated). The
    caller holds the transaction."""
    by_id = {customer.external_id: customer for customer in customers}
    existing = SyncedRecord.objects.filter(
        client_id=client_id, platform=platform, external_id__in=list(by_id)
    ).count()
    SyncedRecord.objects.bulk_create(
        [
            SyncedRecord(client_id=client_id, platform=platform, **dataclasses.asdict(customer))
            for customer in by_id.values()
        ],
        update_conflicts=True,
        unique_fields=["client", "platform", "external_id"],
        update_fields=UPDATED_FIELDS,
    )
    return len(by_id) - existing, existing
