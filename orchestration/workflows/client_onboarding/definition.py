"""Client onboarding, the Django-free half: validate the client's data, set up its
integrations, create its dashboard."""

from dataclasses import dataclass

from orchestration.contract.definition import MINUTE, Step, WorkflowDefinition, WorkflowInput

NAME = "client-onboarding"


@dataclass
class ClientOnboardingInput(WorkflowInput):
    name: str
    email: str
    platforms: list[str]


@dataclass
class ClientRef:
    run: str
    client_id: int
    platforms: list[str]


@dataclass
class OnboardingResult:
    client_id: int
    integrations: list[str]
    dashboard_id: int


VALIDATE_CLIENT_DATA = Step("validate_client_data", ClientOnboardingInput, int, 5 * MINUTE)
SETUP_CLIENT_INTEGRATIONS = Step("setup_client_integrations", ClientRef, list[str], 10 * MINUTE)
CREATE_CLIENT_DASHBOARD = Step("create_client_dashboard", ClientRef, int, 5 * MINUTE)

DEFINITION = WorkflowDefinition(
    name=NAME,
    label="Client onboarding",
    description="Validate the client's data, set up its integrations, create its dashboard.",
    # The organization permission (accounts.roles) that starts and cancels its runs.
    permission="run_standard_workflows",
    input=ClientOnboardingInput,
    result=OnboardingResult,
    steps=(VALIDATE_CLIENT_DATA, SETUP_CLIENT_INTEGRATIONS, CREATE_CLIENT_DASHBOARD),
    execution_timeout_seconds=20 * MINUTE,
    maximum_attempts=3,
)
