from django.db.models import Q
from rest_framework import serializers

from orchestration.models import Client, WorkflowRun
from orchestration.workflows.input_schema import OrganizationClientField, WorkflowStartSerializer
from orchestration.workflows.units import RunRecord, Samples, WorkflowUnit

from .activities import ACTIVITIES
from .definition import DEFINITION, Erasure
from .workflow import ClientOffboardingWorkflow


class ClientOffboardingStartSerializer(WorkflowStartSerializer):
    client = OrganizationClientField(
        source="client_id",
        help_text="Its integrations, records and dashboard go.",
        offered=Q(offboarded_by_run=None) & ~Q(status=Client.Status.OFFBOARDED),
    )

    def validate(self, data):
        organization, client_id = data["organization"], data["client_id"]
        client = Client.objects.filter(pk=client_id, organization=organization).first()
        if client is None:
            raise serializers.ValidationError(
                {"client": [f"No client with id {client_id} in {organization.slug}."]}
            )
        if client.status == Client.Status.OFFBOARDED or client.offboarded_by_run_id:
            raise serializers.ValidationError(
                {"client": [f"{client.name} is already offboarded or being offboarded."]}
            )
        return data


def records(run: WorkflowRun) -> list[RunRecord]:
    client = Client.objects.filter(
        pk=run.input.get("client_id"), organization_id=run.organization_id
    ).first()
    return [RunRecord("client", client, client.get_status_display())] if client else []


SAMPLES = Samples(
    params=lambda client_id, tag: {"client_id": client_id},
    results={
        "revoke_client_integrations": ["ga4"],
        "erase_client_records": Erasure(records_erased=7, campaign_members_removed=1),
        "archive_client_dashboard": True,
    },
    own_client=True,
)


UNIT = WorkflowUnit(
    definition=DEFINITION,
    workflow=ClientOffboardingWorkflow,
    activities=ACTIVITIES,
    start_serializer=ClientOffboardingStartSerializer,
    samples=SAMPLES,
    records=records,
)
