"""Client ping, the Django-free half: read one client's name (a throw-away type that shows
adding a type takes one package and one registry line)."""

from dataclasses import dataclass

from orchestration.contract.definition import MINUTE, Step, WorkflowDefinition, WorkflowInput

NAME = "client-ping"


@dataclass
class ClientPingInput(WorkflowInput):
    client_id: int


@dataclass
class PingResult:
    client_id: int
    client_name: str


PING_CLIENT = Step("ping_client", ClientPingInput, PingResult, MINUTE)

DEFINITION = WorkflowDefinition(
    name=NAME,
    label="Client ping",
    description="Read one client's name.",
    permission="run_standard_workflows",
    input=ClientPingInput,
    result=PingResult,
    steps=(PING_CLIENT,),
    execution_timeout_seconds=5 * MINUTE,
    maximum_attempts=2,
)
