"""Platform sync, the Django-free half: pull one platform's records for one client."""

from dataclasses import dataclass

from orchestration.temporal.shared import MINUTE, Step, WorkflowDefinition, WorkflowInput

NAME = "platform-sync"


@dataclass
class PlatformSyncInput(WorkflowInput):
    client_id: int
    platform: str


@dataclass
class SyncResult:
    client_id: int
    platform: str
    records: int
    created: int


SYNC_PLATFORM_DATA = Step("sync_platform_data", PlatformSyncInput, SyncResult, 20 * MINUTE)

DEFINITION = WorkflowDefinition(
    name=NAME,
    label="Platform sync",
    description="Pull one platform's customer records for one client into the console.",
    input=PlatformSyncInput,
    result=SyncResult,
    steps=(SYNC_PLATFORM_DATA,),
    execution_timeout_seconds=30 * MINUTE,
    maximum_attempts=3,
)
