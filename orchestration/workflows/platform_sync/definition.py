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
    records: int  # the client's customers from the platform after the sync
    created: int  # of what was read: customers, or a source connector's raw records
    updated: int = 0
    fetched: int = 0
    pages: int = 0
    full: bool = False
    # Normalization of a source connector's raw records into customers.
    normalized: bool = False
    customers_created: int = 0
    customers_updated: int = 0


@dataclass
class NormalizeInput:
    run: str
    organization_id: int
    client_id: int
    platform: str


@dataclass
class NormalizeResult:
    customers: int  # the client's customers from the platform afterwards
    created: int
    updated: int
    # False when the integration's source has no mapping (its records stay raw) or its
    # connector reads customers directly (demo, http-json).
    mapped: bool


SYNC_PLATFORM_DATA = Step("sync_platform_data", PlatformSyncInput, SyncResult, 20 * MINUTE)
NORMALIZE_PLATFORM_DATA = Step(
    "normalize_platform_data", NormalizeInput, NormalizeResult, 20 * MINUTE
)
# workflow.patched id: syncs from before raw records were normalized in a step of their own.
NORMALIZE_STEP = "normalize-step"

DEFINITION = WorkflowDefinition(
    name=NAME,
    label="Platform sync",
    description=(
        "Pull one platform's records for one client into the console through the "
        "integration's connector, checkpoint by checkpoint, continuing from the last sync's "
        "state, then normalize them into the client's customers."
    ),
    # The organization permission (accounts.roles) that starts and cancels its runs.
    permission="run_standard_workflows",
    input=PlatformSyncInput,
    result=SyncResult,
    steps=(SYNC_PLATFORM_DATA, NORMALIZE_PLATFORM_DATA),
    execution_timeout_seconds=30 * MINUTE,
    maximum_attempts=3,
)
