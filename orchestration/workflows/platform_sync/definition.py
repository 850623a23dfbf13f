"""Platform sync, the Django-free half: pull one platform's records for one client."""

from dataclasses import dataclass

from orchestration.contract.definition import MINUTE, Step, WorkflowDefinition, WorkflowInput

NAME = "platform-sync"


@dataclass
class PlatformSyncInput(WorkflowInput):
    client_id: int
    platform: str
    # From the beginning instead of the integration's cursor.
    full: bool = False
    # Progress heartbeated by an interrupted attempt (the workflow passes it on).
    checkpoint: str | None = None


@dataclass
class SyncResult:
    client_id: int
    platform: str
    records: int  # the client's records from the platform after the sync
    created: int
    updated: int = 0
    fetched: int = 0
    pages: int = 0
    full: bool = False


SYNC_PLATFORM_DATA = Step("sync_platform_data", PlatformSyncInput, SyncResult, 20 * MINUTE)

DEFINITION = WorkflowDefinition(
    name=NAME,
    label="Platform sync",
    description=(
        "Pull one platform's customer records for one client into the console through the "
        "integration's connector, page by page, continuing from the last sync's cursor."
    ),
    # The organization permission (accounts.roles) that starts and cancels its runs.
    permission="run_standard_workflows",
    input=PlatformSyncInput,
    result=SyncResult,
    steps=(SYNC_PLATFORM_DATA,),
    execution_timeout_seconds=30 * MINUTE,
    maximum_attempts=3,
)
