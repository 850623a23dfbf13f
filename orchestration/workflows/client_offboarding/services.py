"""The effects of offboarding a client. Each step locks the client, checks the run owns the
offboarding, and records what it did on the client (`Client.offboarding`), so a retried step
answers what it did the first time instead of doing it again (or reporting zeros)."""

from django.db import transaction
from django.utils import timezone

from orchestration.models import CampaignMember, Client, Dashboard, SyncedRecord
from orchestration.platform.errors import DataValidationError


def _locked_client(*, run_pk: str, organization_id: int, client_id: int) -> Client:
    """The client, locked for the step's transaction; it must be this run's to offboard."""
    client = (
        Client.objects.select_for_update()
        .filter(pk=client_id, organization_id=organization_id)
        .first()
    )
    if client is None:
        raise DataValidationError(f"No client with id {client_id} in this organization.")
    if client.offboarded_by_run_id is None:
        if client.status == Client.Status.OFFBOARDED:
            raise DataValidationError(f"{client.name} has already been offboarded.")
        client.offboarded_by_run_id = run_pk
        client.save(update_fields=["offboarded_by_run"])
    elif str(client.offboarded_by_run_id) != str(run_pk):
        raise DataValidationError(f"{client.name} is offboarded by another run.")
    return client


def _record(client: Client, **outcomes) -> None:
    client.offboarding = {**client.offboarding, **outcomes}
    client.save(update_fields=["offboarding"])


def client_integrations_revoke(*, run_pk: str, organization_id: int, client_id: int) -> list[str]:
    """Revoke every integration: its row goes, and with it the credentials reference in its
    configuration. Returns the platforms revoked."""
    with transaction.atomic():
        client = _locked_client(run_pk=run_pk, organization_id=organization_id, client_id=client_id)
        if "integrations_revoked" in client.offboarding:
            return client.offboarding["integrations_revoked"]
        platforms = sorted(client.integrations.values_list("platform", flat=True))
        client.integrations.all().delete()
        _record(client, integrations_revoked=platforms)
    return platforms


def client_records_erase(*, run_pk: str, organization_id: int, client_id: int) -> tuple[int, int]:
    """Delete the client's synced customer records and remove from the organization's
    campaigns the members who are customers of this client only. Returns (records erased,
    campaign members removed)."""
    with transaction.atomic():
        client = _locked_client(run_pk=run_pk, organization_id=organization_id, client_id=client_id)
        if "records_erased" in client.offboarding:
            return client.offboarding["records_erased"], client.offboarding["members_removed"]
        records = SyncedRecord.objects.filter(client=client)
        emails = set(records.values_list("email", flat=True))
        elsewhere = set(
            SyncedRecord.objects.filter(client__organization_id=organization_id, email__in=emails)
            .exclude(client=client)
            .values_list("email", flat=True)
        )
        members_removed, _ = CampaignMember.objects.filter(
            campaign__organization_id=organization_id, email__in=emails - elsewhere
        ).delete()
        records_erased, _ = records.delete()
        _record(client, records_erased=records_erased, members_removed=members_removed)
    return records_erased, members_removed


def client_dashboard_archive(*, run_pk: str, organization_id: int, client_id: int) -> bool:
    """Archive the client's dashboard (if it has one) and mark the client offboarded.
    Returns whether a dashboard was archived."""
    with transaction.atomic():
        client = _locked_client(run_pk=run_pk, organization_id=organization_id, client_id=client_id)
        archived = Dashboard.objects.filter(client=client, archived_at__isnull=True).update(
            archived_at=timezone.now()
        )
        if "dashboard_archived" not in client.offboarding:
            _record(client, dashboard_archived=bool(archived))
        client.status = Client.Status.OFFBOARDED
        client.save(update_fields=["status"])
    return client.offboarding["dashboard_archived"]
