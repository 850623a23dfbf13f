"""Client offboarding, the Django-free half: revoke the client's integrations, erase its
synced customer records, archive its dashboard."""

from dataclasses import dataclass

from orchestration.contract.definition import MINUTE, Step, WorkflowDefinition, WorkflowInput

NAME = "client-offboarding"


@dataclass
class ClientOffboardingInput(WorkflowInput):
    client_id: int


@dataclass
class Erasure:
    records_erased: int
    campaign_members_removed: int


@dataclass
class OffboardingResult:
    client_id: int
    integrations_revoked: list[str]
    records_erased: int
    campaign_members_removed: int
    dashboard_archived: bool


REVOKE_CLIENT_INTEGRATIONS = Step(
    "revoke_client_integrations", ClientOffboardingInput, list[str], 5 * MINUTE
)
ERASE_CLIENT_RECORDS = Step("erase_client_records", ClientOffboardingInput, Erasure, 10 * MINUTE)
ARCHIVE_CLIENT_DASHBOARD = Step(
    "archive_client_dashboard", ClientOffboardingInput, bool, 5 * MINUTE
)

DEFINITION = WorkflowDefinition(
    name=NAME,
    label="Client offboarding",
    description="Revoke the client's integrations, erase its records, archive its dashboard.",
    # The organization permission (accounts.roles) that starts and cancels its runs.
    permission="run_sensitive_workflows",
    input=ClientOffboardingInput,
    result=OffboardingResult,
    steps=(REVOKE_CLIENT_INTEGRATIONS, ERASE_CLIENT_RECORDS, ARCHIVE_CLIENT_DASHBOARD),
    execution_timeout_seconds=20 * MINUTE,
    maximum_attempts=3,
)
