"""EYES retraining, the Django-free half: retrain the organization's clustering or churn model
on the training task queue and store a new version."""

from dataclasses import dataclass, field

from orchestration.contract.definition import MINUTE, Step, WorkflowDefinition, WorkflowInput

NAME = "eyes-retrain"


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


RETRAIN_EYES_MODEL = Step(
    "retrain_eyes_model",
    EyesRetrainInput,
    RetrainResult,
    45 * MINUTE,
    heartbeat_seconds=10,
    training=True,
)

DEFINITION = WorkflowDefinition(
    name=NAME,
    label="EYES retrain",
    description="Retrain the organization's EYES clustering or churn model; store a version.",
    # The organization permission (accounts.roles) that starts and cancels its runs.
    permission="run_sensitive_workflows",
    input=EyesRetrainInput,
    result=RetrainResult,
    steps=(RETRAIN_EYES_MODEL,),
    execution_timeout_seconds=60 * MINUTE,
    maximum_attempts=2,
)
