"""The workflow types the console runs: one line per unit. Everything that needs to know the
types (worker, services, API, admin, roles, schema, configuration, README tables) reads
`UNITS`. A unit with a missing or inconsistent part stops the import here, naming the part."""

from django.core.exceptions import ImproperlyConfigured

from .client_offboarding.unit import UNIT as CLIENT_OFFBOARDING
from .client_onboarding.unit import UNIT as CLIENT_ONBOARDING
from .core import WorkflowUnit
from .eyes_retrain.unit import UNIT as EYES_RETRAIN
from .platform_sync.unit import UNIT as PLATFORM_SYNC
from .retention_campaign.unit import UNIT as RETENTION_CAMPAIGN


class UnknownWorkflowType(LookupError):
    pass


def register(*units: WorkflowUnit) -> dict[str, WorkflowUnit]:
    """The units by name, once each has been checked whole and against the others."""
    problems = [problem for unit in units for problem in unit.problems()]
    names = [unit.name for unit in units]
    if len(set(names)) != len(names):
        problems.append(f"a workflow type is registered twice: {names}")
    activities = [step.name for unit in units for step in unit.definition.steps]
    if len(set(activities)) != len(activities):
        problems.append(f"two units declare an activity of the same name: {activities}")
    if problems:
        raise ImproperlyConfigured("Incomplete workflow units:\n  " + "\n  ".join(problems))
    return {unit.name: unit for unit in units}


UNITS: dict[str, WorkflowUnit] = register(
    CLIENT_ONBOARDING,
    PLATFORM_SYNC,
    EYES_RETRAIN,
    RETENTION_CAMPAIGN,
    CLIENT_OFFBOARDING,
)


def get_unit(workflow_type: str) -> WorkflowUnit:
    try:
        return UNITS[workflow_type]
    except KeyError:
        raise UnknownWorkflowType(f"No workflow type {workflow_type!r}.") from None


def workflow_type_choices() -> list[tuple[str, str]]:
    return [(name, unit.label) for name, unit in UNITS.items()]
