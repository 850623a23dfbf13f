"""What a workflow unit is: the Django half of a workflow type (its workflow class, activities,
input schema, the records it makes and how its result reads), with the checks that say, at
import, what an incomplete unit is missing. The Django-free half is its definition
(orchestration.contract)."""

import dataclasses
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Model
from temporalio import activity, workflow

from accounts.roles import ORGANIZATION_PERMISSIONS
from orchestration.contract.definition import WorkflowDefinition, WorkflowInput
from orchestration.workflows.input_schema import WorkflowStartSerializer

# A workflow type's name is a URL segment and the start of its workflow ids.
WORKFLOW_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
# The envelope every input carries; the start serializer validates everything else.
ENVELOPE_FIELDS = frozenset(field.name for field in dataclasses.fields(WorkflowInput))


@dataclass(frozen=True)
class RunRecord:
    """A platform record a run created or worked on, for the run page."""

    kind: str  # client, model version, campaign
    record: Model
    detail: str = ""


@dataclass(frozen=True)
class ResultTable:
    """A run's result in numbers, for the run page: a title, column headers, rows."""

    title: str
    headers: list[str]
    rows: list[tuple]


@dataclass(frozen=True)
class RunLog:
    """Lines a run's step kept for diagnosis (a connector's log), for the run page."""

    title: str
    lines: list[str]


@dataclass(frozen=True, eq=False)  # compared and hashed as itself: units are cache keys
class Samples:
    """A run of this type that tests, recorded histories and benchmarks make without knowing
    the type: adding a type adds its samples, not edits to them (README "Adding a workflow
    type")."""

    # The run's params (what its input schema validates, less the organization) for a run on
    # the client with this id; `tag` differs from run to run, for what must be unique.
    params: Callable[[int, str], dict]
    # What each step's activity returns, for workflow tests whose activities are fakes.
    results: dict[str, Any]
    # The kinds of active EYES model a run needs in its organization.
    needs_models: tuple[str, ...] = ()
    # A run consumes its client (offboarding): each sample run gets a client of its own.
    own_client: bool = False


@dataclass(frozen=True)
class WorkflowUnit:
    definition: WorkflowDefinition
    workflow: type
    activities: tuple[Callable, ...]
    start_serializer: type[WorkflowStartSerializer]
    samples: Samples
    # The platform records a run created or touched, in one query.
    records: Callable[[Model], list[RunRecord]] = lambda run: []
    # The run's result as small tables for the run page (above its raw JSON); no query.
    result_tables: Callable[[Model], list[ResultTable]] = lambda run: []
    # What the run's steps kept for diagnosis, for the run page; one query.
    logs: Callable[[Model], list[RunLog]] = lambda run: []

    def __post_init__(self) -> None:
        if isinstance(self.start_serializer, type):
            self.start_serializer.definition = self.definition

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def label(self) -> str:
        return self.definition.label

    @property
    def permission(self) -> str:
        """The organization permission that starts and cancels runs of this type."""
        return self.definition.permission

    def problems(self) -> list[str]:
        """What is missing or inconsistent; a registered unit must have none."""
        found = []
        definition = self.definition
        if not isinstance(definition, WorkflowDefinition):
            return ["definition: not a WorkflowDefinition"]
        if not WORKFLOW_NAME.fullmatch(definition.name):
            found.append("definition: the name must be lowercase words joined by hyphens")
        if not definition.label or not definition.description:
            found.append("definition: a label and a description are needed")
        if not definition.steps:
            found.append("definition: no steps")
        found += _workflow_problems(self.workflow, definition)
        found += _activity_problems(self.activities, definition)
        found += _serializer_problems(self.start_serializer, definition)
        found += _samples_problems(self.samples, definition)
        if self.permission not in {codename for codename, _ in ORGANIZATION_PERMISSIONS}:
            found.append(
                f"definition: the permission {self.permission!r} is not an organization permission"
            )
        return [f"{definition.name}: {problem}" for problem in found]


def _workflow_problems(cls: type, definition: WorkflowDefinition) -> list[str]:
    defn = workflow._Definition.from_class(cls) if inspect.isclass(cls) else None
    if defn is None:
        return ["workflow: not a @workflow.defn class"]
    found = []
    if defn.name != definition.name:
        found.append(f"workflow: named {defn.name!r}, the definition says {definition.name!r}")
    if defn.arg_types != [definition.input]:
        found.append(f"workflow: run() must take a {definition.input.__name__}")
    if defn.ret_type is not definition.result:
        found.append(f"workflow: run() must return a {definition.result.__name__}")
    return found


def activity_name(fn: Callable) -> str | None:
    """The activity type `fn` is registered as; None when it isn't an activity."""
    defn = activity._Definition.from_callable(fn)
    return defn.name if defn else None


def _activity_problems(activities: tuple, definition: WorkflowDefinition) -> list[str]:
    names = [activity_name(fn) for fn in activities]
    if None in names:
        return ["activities: one of them is not an @activity.defn function"]
    steps = [step.name for step in definition.steps]
    found = []
    if missing := sorted(set(steps) - set(names)):
        found.append(f"activities: no activity for the steps {missing}")
    if extra := sorted(set(names) - set(steps)):
        found.append(f"activities: {extra} are not steps of the definition")
    if len(names) != len(set(names)):
        found.append("activities: an activity is listed twice")
    return found


def _serializer_problems(serializer: type, definition: WorkflowDefinition) -> list[str]:
    if not (inspect.isclass(serializer) and issubclass(serializer, WorkflowStartSerializer)):
        return ["start_serializer: not a WorkflowStartSerializer"]
    fields = {
        field.name: field
        for field in dataclasses.fields(definition.input)
        if field.name not in ENVELOPE_FIELDS
    }
    required = {
        name
        for name, field in fields.items()
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    }
    filled = serializer.param_names()
    found = []
    if missing := sorted(required - filled):
        found.append(f"start_serializer: doesn't fill the input fields {missing}")
    if extra := sorted(filled - set(fields)):
        found.append(f"start_serializer: fills {extra}, which the input doesn't have")
    return found


def _samples_problems(samples: Samples, definition: WorkflowDefinition) -> list[str]:
    if not isinstance(samples, Samples):
        return ["samples: not a Samples"]
    steps = {step.name: step for step in definition.steps}
    found = []
    if missing := sorted(set(steps) - set(samples.results)):
        found.append(f"samples: no result for the steps {missing}")
    if extra := sorted(set(samples.results) - set(steps)):
        found.append(f"samples: results for {extra}, which are not steps")
    for name, result in samples.results.items():
        expected = steps[name].result if name in steps else None
        if isinstance(expected, type) and not isinstance(result, expected):
            found.append(f"samples: the result of {name} is not a {expected.__name__}")
    try:
        definition.input(run="", organization_id=0, policy=None, **samples.params(0, "check"))
    except TypeError as error:
        found.append(f"samples: the params don't make a {definition.input.__name__}: {error}")
    return found
