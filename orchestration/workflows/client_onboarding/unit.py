from rest_framework import serializers

from orchestration.contract.vocabulary import Platform
from orchestration.models import Client, WorkflowRun
from orchestration.workflows.input_schema import StrictSerializer, WorkflowStartSerializer
from orchestration.workflows.units import RunRecord, Samples, WorkflowUnit

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


SAMPLES = Samples(
    params=lambda client_id, tag: {
        "name": f"Initech ({tag})",
        "email": f"ops+{tag}@initech.example",
        "platforms": ["ga4", "hubspot"],
    },
    results={
        "validate_client_data": 101,
        "setup_client_integrations": ["ga4-integration", "hubspot-integration"],
        "create_client_dashboard": 202,
    },
)


UNIT = WorkflowUnit(
    definition=DEFINITION,
    workflow=ClientOnboardingWorkflow,
    activities=ACTIVITIES,
    start_serializer=ClientOnboardingStartSerializer,
    samples=SAMPLES,
    records=records,
)
