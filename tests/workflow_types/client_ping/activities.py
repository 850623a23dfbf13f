from orchestration.models import Client
from orchestration.workflows.activity import console_activity

from .definition import PING_CLIENT, ClientPingInput, PingResult


@console_activity(PING_CLIENT)
def ping_client(input: ClientPingInput) -> PingResult:
    client = Client.objects.get(pk=input.client_id, organization_id=input.organization_id)
    return PingResult(client_id=client.pk, client_name=client.name)


ACTIVITIES = (ping_client,)
