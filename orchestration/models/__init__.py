from .audit import AuditEvent
from .platform import (
    Campaign,
    CampaignMember,
    Client,
    Dashboard,
    Integration,
    ModelVersion,
    RawRecord,
    SyncedRecord,
)
from .runs import WorkflowRun
from .schedules import WorkflowSchedule

__all__ = [
    "AuditEvent",
    "Campaign",
    "CampaignMember",
    "Client",
    "Dashboard",
    "Integration",
    "ModelVersion",
    "RawRecord",
    "SyncedRecord",
    "WorkflowRun",
    "WorkflowSchedule",
]
