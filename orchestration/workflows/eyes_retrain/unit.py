from rest_framework import serializers

from orchestration.contract.vocabulary import EyesModel
from orchestration.models import ModelVersion, WorkflowRun
from orchestration.workflows.input_schema import StrictSerializer, WorkflowStartSerializer
from orchestration.workflows.units import RunRecord, Samples, WorkflowUnit

from .activities import ACTIVITIES
from .definition import DEFINITION, RetrainResult
from .workflow import EyesRetrainWorkflow


class EyesParamsSerializer(StrictSerializer):
    epochs = serializers.IntegerField(min_value=1, max_value=1_000_000, default=20)
    clusters = serializers.IntegerField(
        min_value=2, max_value=20, default=4, help_text="For clustering: the number of segments."
    )


class EyesRetrainStartSerializer(WorkflowStartSerializer):
    model = serializers.ChoiceField(choices=EyesModel.choices())
    params = EyesParamsSerializer(required=False)

    def validate(self, data):
        # The run records the parameters it trained with, defaults included.
        if "params" not in data:
            data["params"] = EyesParamsSerializer().run_validation({})
        return data


def records(run: WorkflowRun) -> list[RunRecord]:
    version = ModelVersion.objects.filter(run=run).first()
    if version is None:
        return []
    # Active: campaigns use it (until a later retrain of its kind completes).
    return [RunRecord("model version", version, "active" if version.active else "not active")]


SAMPLES = Samples(
    params=lambda client_id, tag: {"model": "churn", "params": {"epochs": 20}},
    results={
        "retrain_eyes_model": RetrainResult(
            model_version_id=3, model="churn", version=2, training_rows=90, metrics={}
        )
    },
)


UNIT = WorkflowUnit(
    definition=DEFINITION,
    workflow=EyesRetrainWorkflow,
    activities=ACTIVITIES,
    start_serializer=EyesRetrainStartSerializer,
    samples=SAMPLES,
    records=records,
)
