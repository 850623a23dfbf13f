from orchestration.platform import services as platform
from orchestration.workflows.activity import console_activity

from .definition import (
    CREATE_CLIENT_DASHBOARD,
    SETUP_CLIENT_INTEGRATIONS,
    VALIDATE_CLIENT_DATA,
    ClientOnboardingInput,
    ClientRef,
)


@console_activity(VALIDATE_CLIENT_DATA)
def validate_client_data(input: ClientOnboardingInput) -> int:
    client = platform.client_onboarding_validate(
        run_pk=input.run,
        organization_id=input.organization_id,
        name=input.name,
        email=input.email,
        platforms=input.platforms,
    )
    return client.pk


@console_activity(SETUP_CLIENT_INTEGRATIONS)
def setup_client_integrations(ref: ClientRef) -> list[str]:
    return platform.client_integrations_setup(client_id=ref.client_id, platforms=ref.platforms)


@console_activity(CREATE_CLIENT_DASHBOARD)
def create_client_dashboard(ref: ClientRef) -> int:
    return platform.client_dashboard_create(client_id=ref.client_id).pk


ACTIVITIES = (validate_client_data, setup_client_integrations, create_client_dashboard)
