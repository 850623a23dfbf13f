from .audit import AuditEvent
from .platform import (
    Campaign,
    CampaignMember,
    Client,
    ConnectorLog,
    Dashboard,
    Integration,
    ModelVersion,
    PlatformMetric,
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
    "ConnectorLog",
    "Dashboard",
    "Integration",
    "ModelVersion",
    "PlatformMetric",
    "RawRecord",
    "SyncedRecord",
    "WorkflowRun",
    "WorkflowSchedule",
]
