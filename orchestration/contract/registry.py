"""The workflow types the console runs: one line per type, naming its unit's package
(`orchestration/workflows/<type>/`, README "Adding a workflow type").

Here each package's Django-free `definition` module is loaded (its `DEFINITION`); everything
below the units (models' choices, policies, authorization, services) reads a type through
`get_definition`. The Django half of each unit (`<type>/unit.py`) is loaded from the same list
by `orchestration.workflows.registry`, a layer above the services it calls."""

import os
from importlib import import_module

from .definition import WorkflowDefinition

# A deployment's own workflow types, without editing the console: packages laid out like the
# console's units, comma-separated, importable by the web, worker and command processes alike
# (README "Adding a workflow type").
EXTRA_PACKAGES_VARIABLE = "OMNIFY_EXTRA_WORKFLOW_PACKAGES"

PACKAGES: tuple[str, ...] = (
    "orchestration.workflows.client_onboarding",
    "orchestration.workflows.platform_sync",
    "orchestration.workflows.eyes_retrain",
    "orchestration.workflows.retention_campaign",
    "orchestration.workflows.client_offboarding",
    *filter(
        None, (name.strip() for name in os.environ.get(EXTRA_PACKAGES_VARIABLE, "").split(","))
    ),
)


class UnknownWorkflowType(LookupError):
    pass


def _load(packages: tuple[str, ...]) -> dict[str, WorkflowDefinition]:
    definitions = [import_module(f"{package}.definition").DEFINITION for package in packages]
    names = [definition.name for definition in definitions]
    if len(set(names)) != len(names):
        raise ValueError(f"a workflow type is registered twice: {names}")
    return {definition.name: definition for definition in definitions}


DEFINITIONS: dict[str, WorkflowDefinition] = _load(PACKAGES)


def get_definition(workflow_type: str) -> WorkflowDefinition:
    try:
        return DEFINITIONS[workflow_type]
    except KeyError:
        raise UnknownWorkflowType(f"No workflow type {workflow_type!r}.") from None


def workflow_type_choices() -> list[tuple[str, str]]:
    """The registered types as model and filter choices, in the registry's order."""
    return [(name, definition.label) for name, definition in DEFINITIONS.items()]
