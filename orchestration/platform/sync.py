"""Platform sync: pull one integration's records through its connector, page by page."""

from django.db import transaction
from django.utils import timezone

from orchestration.models import Client, SyncedRecord

from . import demo_source
from .errors import DataValidationError
from .services import Heartbeat


def platform_records_sync(
    *, organization_id: int, client_id: int, platform: str, heartbeat: Heartbeat
) -> tuple[int, int]:
    """Upsert the platform's customer records for the client; return (records, created)."""
    client = Client.objects.filter(pk=client_id, organization_id=organization_id).first()
    if client is None:
        raise DataValidationError(f"Client {client_id} does not exist in this organization.")
    integration = client.integrations.filter(platform=platform).first()
    if integration is None:
        raise DataValidationError(f"{client.name} has no {platform} integration.")
    customers = demo_source.fetch_customers(client_key=client.email, platform=platform)
    heartbeat(f"fetched {len(customers)} records")
    before = client.records.filter(platform=platform).count()
    with transaction.atomic():
        SyncedRecord.objects.bulk_create(
            [
                SyncedRecord(
                    client=client,
                    platform=platform,
                    external_id=c.external_id,
                    email=c.email,
                    sessions=c.sessions,
                    spend=c.spend,
                    days_since_last_activity=c.days_since_last_activity,
                    support_tickets=c.support_tickets,
                    churned=c.churned,
                )
                for c in customers
            ],
            update_conflicts=True,
            unique_fields=["client", "platform", "external_id"],
            update_fields=[
                "email",
                "sessions",
                "spend",
                "days_since_last_activity",
                "support_tickets",
                "churned",
                "synced_at",
            ],
        )
        integration.last_synced_at = timezone.now()
        integration.save(update_fields=["last_synced_at"])
    after = client.records.filter(platform=platform).count()
    return after, after - before
