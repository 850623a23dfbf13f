"""The registry of workflow units: every registered unit is whole, and an incomplete one is
refused at registration, naming what is missing."""

import dataclasses
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers
from temporalio import workflow

from accounts.roles import RUN_STANDARD_WORKFLOWS
from orchestration.admin.start_forms import start_form_class
from orchestration.contract.definition import Step, WorkflowDefinition, WorkflowInput
from orchestration.contract.registry import DEFINITIONS, PACKAGES
from orchestration.workflows.activity import console_activity
from orchestration.workflows.catalog import readme_with_catalog
from orchestration.workflows.console_workflow import ConsoleWorkflow
from orchestration.workflows.input_schema import WorkflowStartSerializer
from orchestration.workflows.registry import UNITS, register
from orchestration.workflows.units import Samples, WorkflowUnit


# --- a small complete unit, then the same unit with one part broken at a time -------------
@dataclass
class PingInput(WorkflowInput):
    message: str


@dataclass
class PingResult:
    echoed: str


PING = Step("ping_for_the_registry_test", PingInput, PingResult, 60)
PING_DEFINITION = WorkflowDefinition(
    name="ping",
    label="Ping",
    description="Answers with its message.",
    permission=RUN_STANDARD_WORKFLOWS,
    input=PingInput,
    result=PingResult,
    steps=(PING,),
    execution_timeout_seconds=60,
    maximum_attempts=1,
)


@workflow.defn(name="ping", sandboxed=False)
class PingWorkflow(ConsoleWorkflow[PingInput, PingResult]):
    @workflow.run
    async def run(self, input: PingInput) -> PingResult:
        return await self._execute(input)

    async def _steps(self, input: PingInput) -> PingResult:
        return await self._activity(PING, input)


@workflow.defn(name="pong", sandboxed=False)
class MisnamedWorkflow(PingWorkflow):
    @workflow.run
    async def run(self, input: PingInput) -> PingResult:
        return await self._execute(input)


@console_activity(PING)
def ping(input: PingInput) -> PingResult:
    return PingResult(echoed=input.message)


def _start_serializer(**fields) -> type[WorkflowStartSerializer]:
    return type("PingStartSerializer", (WorkflowStartSerializer,), fields)


def ping_unit(**changes) -> WorkflowUnit:
    parts = {
        "definition": PING_DEFINITION,
        "workflow": PingWorkflow,
        "activities": (ping,),
        "start_serializer": _start_serializer(message=serializers.CharField()),
        "samples": Samples(
            params=lambda client_id, tag: {"message": tag},
            results={"ping_for_the_registry_test": PingResult(echoed="hi")},
        ),
        **changes,
    }
    return WorkflowUnit(**parts)


def test_a_complete_unit_registers():
    unit = ping_unit()
    assert register(unit) == {"ping": unit}
    assert ping_unit().problems() == []


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        (
            {"activities": ()},
            "activities: no activity for the steps ['ping_for_the_registry_test']",
        ),
        ({"activities": (ping, ping)}, "activities: an activity is listed twice"),
        (
            {"activities": (lambda input: None,)},
            "activities: one of them is not an @activity.defn function",
        ),
        ({"workflow": object}, "workflow: not a @workflow.defn class"),
        ({"workflow": MisnamedWorkflow}, "workflow: named 'pong'"),
        (
            {"start_serializer": _start_serializer()},
            "start_serializer: doesn't fill the input fields ['message']",
        ),
        (
            {
                "start_serializer": _start_serializer(
                    message=serializers.CharField(), x=serializers.CharField()
                )
            },
            "start_serializer: fills ['x'], which the input doesn't have",
        ),
        (
            {"start_serializer": serializers.Serializer},
            "start_serializer: not a WorkflowStartSerializer",
        ),
        (
            {"definition": dataclasses.replace(PING_DEFINITION, permission="fly")},
            "definition: the permission 'fly' is not an organization permission",
        ),
        (
            {"samples": Samples(params=lambda client_id, tag: {}, results={})},
            "samples: no result for the steps ['ping_for_the_registry_test']",
        ),
        (
            {
                "samples": Samples(
                    params=lambda client_id, tag: {"message": tag},
                    results={"ping_for_the_registry_test": "hi"},
                )
            },
            "samples: the result of ping_for_the_registry_test is not a PingResult",
        ),
        (
            {
                "samples": Samples(
                    params=lambda client_id, tag: {"text": tag},
                    results={"ping_for_the_registry_test": PingResult(echoed="hi")},
                )
            },
            "samples: the params don't make a PingInput",
        ),
        (
            {"definition": dataclasses.replace(PING_DEFINITION, description="")},
            "definition: a label and a description are needed",
        ),
        (
            {"definition": dataclasses.replace(PING_DEFINITION, result=PingInput)},
            "workflow: run() must return a PingInput",
        ),
    ],
)
def test_an_incomplete_unit_is_refused_naming_the_missing_part(changes, complaint):
    with pytest.raises(ImproperlyConfigured) as refused:
        register(ping_unit(**changes))
    assert f"ping: {complaint}" in str(refused.value)


def test_two_units_of_one_name_are_refused():
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        register(ping_unit(), ping_unit())


def test_an_activity_that_doesnt_match_its_step_fails_at_import():
    with pytest.raises(TypeError, match="doesn't match its step ping_for_the_registry_test"):

        @console_activity(PING)
        def wrong(input: PingInput) -> str:
            return input.message


# --- every registered unit ---------------------------------------------------------------
@pytest.mark.parametrize("name", list(UNITS))
def test_every_registered_unit_is_whole(name):
    unit = UNITS[name]
    assert unit.problems() == []
    assert unit.start_serializer.definition is unit.definition
    # Its admin start page can be generated (an unknown kind of field would raise here).
    form_fields = set(start_form_class(unit).base_fields)
    assert "organization" in form_fields and len(form_fields) > 1


def test_the_registry_lists_the_types_in_one_place():
    # One line per type (contract.registry.PACKAGES): the definitions and the units are
    # loaded from it, in its order.
    assert list(UNITS) == list(DEFINITIONS)
    assert [unit.definition for unit in UNITS.values()] == list(DEFINITIONS.values())
    assert [import_module(f"{package}.unit").UNIT.name for package in PACKAGES] == list(UNITS)


def test_the_readme_tables_are_the_registrys():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert readme_with_catalog(readme) == readme, (
        "README.md disagrees with the registry: run `manage.py workflow_catalog --write README.md`"
    )


@pytest.mark.django_db
def test_the_configuration_lists_every_registered_type(api):
    workflows = api("acme-manager").get("/api/temporal/configuration").json()["workflows"]
    assert list(workflows) == list(UNITS)
    for name, unit in UNITS.items():
        assert workflows[name]["label"] == unit.label
        assert workflows[name]["permission"] == unit.permission
        assert [step["activity"] for step in workflows[name]["activities"]] == [
            step.name for step in unit.definition.steps
        ]


@pytest.mark.django_db
def test_the_schema_documents_a_start_for_every_registered_type(api):
    paths = api("acme-manager").get("/api/schema/?format=json").json()["paths"]
    for name, unit in UNITS.items():
        start = paths[f"/api/temporal/workflows/{name}"]["post"]
        assert start["summary"] == f"Start a {unit.label.lower()} run"
        assert set(start["responses"]) >= {"200", "202", "400", "401", "403", "503"}
