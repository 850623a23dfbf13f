from orchestration.platform import services as platform
from orchestration.workflows.activity import console_activity, heartbeat, resume_checkpoint

from .definition import RETRAIN_EYES_MODEL, EyesRetrainInput, RetrainResult


@console_activity(RETRAIN_EYES_MODEL)
def retrain_eyes_model(input: EyesRetrainInput) -> RetrainResult:
    version = platform.eyes_model_retrain(
        run_pk=input.run,
        organization_id=input.organization_id,
        model=input.model,
        params=input.params,
        heartbeat=heartbeat,
        checkpoint=resume_checkpoint(input.checkpoint),
    )
    return RetrainResult(
        model_version_id=version.pk,
        model=version.kind,
        version=version.version,
        training_rows=version.training_rows,
        metrics=version.metrics,
    )


ACTIVITIES = (retrain_eyes_model,)
