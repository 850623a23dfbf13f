"""Names, inputs, results and policies shared by the workflows, activities and the console.

Imported by the sandboxed workflow code: keep Django (and anything with side effects) out.
"""

from dataclasses import dataclass, field
from enum import StrEnum


class _Choices(StrEnum):
    """A StrEnum whose members may name their label, as Django's TextChoices do:
    `GA4 = "ga4", "GA4"`. Without one, the label is the value in words ("Client onboarding")."""

    label: str

    def __new__(cls, value: str, label: str | None = None) -> "_Choices":
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value.replace("-", " ").capitalize()
        return member

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]


class WorkflowType(_Choices):
    CLIENT_ONBOARDING = "client-onboarding"
    PLATFORM_SYNC = "platform-sync"
    EYES_RETRAIN = "eyes-retrain"
    RETENTION_CAMPAIGN = "retention-campaign"


class Platform(_Choices):
    GA4 = "ga4", "GA4"
    HUBSPOT = "hubspot", "HubSpot"
    SALESFORCE = "salesforce", "Salesforce"
    TIKTOK = "tiktok", "TikTok"
    YOUTUBE = "youtube", "YouTube"


class EyesModel(_Choices):
    CLUSTERING = "clustering"
    CHURN = "churn"


class Channel(_Choices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PUSH = "push", "Push"


class Activity(StrEnum):
    VALIDATE_CLIENT_DATA = "validate_client_data"
    SETUP_CLIENT_INTEGRATIONS = "setup_client_integrations"
    CREATE_CLIENT_DASHBOARD = "create_client_dashboard"
    SYNC_PLATFORM_DATA = "sync_platform_data"
    RETRAIN_EYES_MODEL = "retrain_eyes_model"
    CREATE_RETENTION_CAMPAIGN = "create_retention_campaign"
    REPORT_RUN_STATUS = "report_run_status"
    RECONCILE_RUNS = "reconcile_runs"


# CPU-bound steps run on a task queue of their own, served by worker slots and threads of
# their own: training never holds the slots that status reports and short steps need.
TRAINING_ACTIVITIES = frozenset({Activity.RETRAIN_EYES_MODEL})


def training_task_queue(task_queue: str) -> str:
    return f"{task_queue}-training"


# The maintenance workflow the deployment's reconcile schedule starts (not a run type).
RECONCILE_WORKFLOW = "reconcile-runs"
RECONCILE_TIMEOUT_SECONDS = 5 * 60


# The error type activities raise for bad input; retry policies never retry it.
VALIDATION_ERROR_TYPE = "ValidationFailed"
# The error type of a step stopped by infrastructure (its worker's shutdown, carrying its
# checkpoint; the database unavailable). Not retried by Temporal (an attempt is for business
# failures): the workflow schedules the step again after a pause (5 s, doubling, at most
# 60 s), as after a heartbeat timeout (a worker that died), up to MAX_INTERRUPTIONS times.
INTERRUPTED_ERROR_TYPE = "WorkerInterrupted"
MAX_INTERRUPTIONS = 5
INTERRUPTION_PAUSE_SECONDS = 5


def failure_message(error: BaseException) -> str:
    """The innermost cause's own message, without Temporal's "Type: " prefix or wrappers."""
    while error.__cause__ is not None:
        error = error.__cause__
    return getattr(error, "message", None) or str(error) or type(error).__name__


@dataclass
class ActivityPolicy:
    activity: str
    start_to_close_seconds: int
    heartbeat_seconds: int | None = None


@dataclass
class WorkflowPolicy:
    """Timeouts and retries of one workflow type. Travels in the workflow input, so a run
    keeps the policy it was started with and the sandbox never reads settings."""

    execution_timeout_seconds: int
    maximum_attempts: int
    activities: list[ActivityPolicy]
    initial_interval_seconds: float = 2.0
    backoff_coefficient: float = 2.0
    maximum_interval_seconds: float = 60.0

    def for_activity(self, activity: str) -> ActivityPolicy:
        for policy in self.activities:
            if policy.activity == activity:
                return policy
        raise KeyError(activity)


MINUTE = 60

# Every activity has a heartbeat timeout: a worker that dies is noticed within it and the
# attempt retried, whatever the step (heartbeats.py keeps every activity heartbeating).
HEARTBEAT = 20

POLICIES: dict[str, WorkflowPolicy] = {
    WorkflowType.CLIENT_ONBOARDING: WorkflowPolicy(
        execution_timeout_seconds=20 * MINUTE,
        maximum_attempts=3,
        activities=[
            ActivityPolicy(Activity.VALIDATE_CLIENT_DATA, 5 * MINUTE, HEARTBEAT),
            ActivityPolicy(Activity.SETUP_CLIENT_INTEGRATIONS, 10 * MINUTE, HEARTBEAT),
            ActivityPolicy(Activity.CREATE_CLIENT_DASHBOARD, 5 * MINUTE, HEARTBEAT),
        ],
    ),
    WorkflowType.PLATFORM_SYNC: WorkflowPolicy(
        execution_timeout_seconds=30 * MINUTE,
        maximum_attempts=3,
        activities=[ActivityPolicy(Activity.SYNC_PLATFORM_DATA, 20 * MINUTE, HEARTBEAT)],
    ),
    WorkflowType.EYES_RETRAIN: WorkflowPolicy(
        execution_timeout_seconds=60 * MINUTE,
        maximum_attempts=2,
        activities=[ActivityPolicy(Activity.RETRAIN_EYES_MODEL, 45 * MINUTE, heartbeat_seconds=10)],
    ),
    WorkflowType.RETENTION_CAMPAIGN: WorkflowPolicy(
        execution_timeout_seconds=10 * MINUTE,
        maximum_attempts=3,
        activities=[ActivityPolicy(Activity.CREATE_RETENTION_CAMPAIGN, 5 * MINUTE, HEARTBEAT)],
    ),
}

# Status reports are short database writes; they retry on their own schedule so a brief
# database outage doesn't fail an otherwise finished run.
REPORT_TIMEOUT_SECONDS = 30
REPORT_MAXIMUM_ATTEMPTS = 10


@dataclass
class WorkflowInput:
    run: str  # WorkflowRun primary key
    organization_id: int
    policy: WorkflowPolicy


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
class PlatformSyncInput(WorkflowInput):
    client_id: int
    platform: str


@dataclass
class SyncResult:
    client_id: int
    platform: str
    records: int
    created: int


@dataclass
class EyesRetrainInput(WorkflowInput):
    model: str
    params: dict = field(default_factory=dict)
    # Where an interrupted training left off (set by the workflow when it resumes the step).
    checkpoint: str | None = None


@dataclass
class RetrainResult:
    model_version_id: int
    model: str
    version: int
    training_rows: int
    metrics: dict


@dataclass
class RetentionCampaignInput(WorkflowInput):
    name: str
    channel: str
    min_churn_risk: float


@dataclass
class CampaignResult:
    campaign_id: int
    audience_size: int
    scored_with_model_version: int | None


@dataclass
class RunStatusReport:
    run: str
    status: str  # a WorkflowRun.Status value
    current_step: str = ""
    steps_done: list[str] = field(default_factory=list)
    result: dict | None = None
    error: str = ""


@dataclass
class Progress:
    current_step: str
    steps_done: list[str]
