from rest_framework import serializers

from orchestration.contract.vocabulary import Platform
from orchestration.models import Client, WorkflowRun
from orchestration.workflows.input_schema import StrictSerializer, WorkflowStartSerializer
from orchestration.workflows.units import RunRecord, WorkflowUnit

from .activities import ACTIVITIES
from .definition import DEFINITION
from .workflow import ClientOnboardingWorkflow


class NewClientSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField()
    platforms = serializers.ListField(
        child=serializers.ChoiceField(choices=Platform.choices()), allow_empty=False
    )

    def validate_platforms(self, platforms: list[str]) -> list[str]:
        if len(set(platforms)) != len(platforms):
            raise serializers.ValidationError("Each platform may be listed once.")
        return platforms


class ClientOnboardingStartSerializer(WorkflowStartSerializer):
    # The body nests the client; the input holds its fields flat.
    client = NewClientSerializer(source="*")


def records(run: WorkflowRun) -> list[RunRecord]:
    client = Client.objects.filter(created_by_run=run).select_related("dashboard").first()
    if client is None:
        return []
    dashboard = getattr(client, "dashboard", None)
    return [RunRecord("client", client, f"dashboard: {dashboard}" if dashboard else "")]


UNIT = WorkflowUnit(
    definition=DEFINITION,
    workflow=ClientOnboardingWorkflow,
    activities=ACTIVITIES,
    start_serializer=ClientOnboardingStartSerializer,
    records=records,
)
