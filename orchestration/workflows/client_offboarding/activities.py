from orchestration.workflows.activity import console_activity

from . import services
from .definition import (
    ARCHIVE_CLIENT_DASHBOARD,
    ERASE_CLIENT_RECORDS,
    REVOKE_CLIENT_INTEGRATIONS,
    ClientOffboardingInput,
    Erasure,
)


def _client(input: ClientOffboardingInput) -> dict:
    return {
        "run_pk": input.run,
        "organization_id": input.organization_id,
        "client_id": input.client_id,
    }


@console_activity(REVOKE_CLIENT_INTEGRATIONS)
def revoke_client_integrations(input: ClientOffboardingInput) -> list[str]:
    return services.client_integrations_revoke(**_client(input))


@console_activity(ERASE_CLIENT_RECORDS)
def erase_client_records(input: ClientOffboardingInput) -> Erasure:
    records, members = services.client_records_erase(**_client(input))
    return Erasure(records_erased=records, campaign_members_removed=members)


@console_activity(ARCHIVE_CLIENT_DASHBOARD)
def archive_client_dashboard(input: ClientOffboardingInput) -> bool:
    return services.client_dashboard_archive(**_client(input))


ACTIVITIES = (revoke_client_integrations, erase_client_records, archive_client_dashboard)
