"""The units of the registered workflow types (orchestration.contract.registry lists their
packages, one line per type): each package's `unit.UNIT`, the Django half of the type. The
worker, the API and the admin read `UNITS`; layers below the units read the definitions
(orchestration.contract.registry). A unit with a missing or inconsistent part stops the
import here, naming the part."""

from importlib import import_module

from django.core.exceptions import ImproperlyConfigured

from orchestration.contract.registry import PACKAGES, UnknownWorkflowType
from orchestration.workflows.units import WorkflowUnit


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
    *(import_module(f"{package}.unit").UNIT for package in PACKAGES)
)


def get_unit(workflow_type: str) -> WorkflowUnit:
    try:
        return UNITS[workflow_type]
    except KeyError:
        raise UnknownWorkflowType(f"No workflow type {workflow_type!r}.") from None
