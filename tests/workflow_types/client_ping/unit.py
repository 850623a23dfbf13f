from rest_framework import serializers

from orchestration.workflows.input_schema import OrganizationClientField, WorkflowStartSerializer
from orchestration.workflows.units import Samples, WorkflowUnit

from .activities import ACTIVITIES
from .definition import DEFINITION, PingResult
from .workflow import ClientPingWorkflow


class ClientPingStartSerializer(WorkflowStartSerializer):
    client = OrganizationClientField(source="client_id")

    def validate(self, data):
        organization, client_id = data["organization"], data["client_id"]
        if not organization.clients.filter(pk=client_id).exists():
            raise serializers.ValidationError(
                {"client": [f"No client with id {client_id} in {organization.slug}."]}
            )
        return data


UNIT = WorkflowUnit(
    definition=DEFINITION,
    workflow=ClientPingWorkflow,
    activities=ACTIVITIES,
    start_serializer=ClientPingStartSerializer,
    samples=Samples(
        params=lambda client_id, tag: {"client_id": client_id},
        results={"ping_client": PingResult(client_id=1, client_name="Acme demo")},
    ),
)
