"""What a workflow unit is: the Django half of a workflow type (its workflow class, activities,
start serializer, the permission it needs, the records it makes), with the checks that say,
at import, what an incomplete unit is missing."""

import dataclasses
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Model, Q
from rest_framework import serializers
from temporalio import activity, workflow

from accounts.models import Organization
from accounts.roles import ORGANIZATION_PERMISSIONS
from orchestration import authorization
from orchestration.temporal.shared import WorkflowDefinition, WorkflowInput, WorkflowPolicy

# A workflow type's name is a URL segment and the start of its workflow ids.
WORKFLOW_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
# The envelope every input carries; the start serializer validates everything else.
ENVELOPE_FIELDS = frozenset(field.name for field in dataclasses.fields(WorkflowInput))


class StrictSerializer(serializers.Serializer):
    """Rejects fields it doesn't know, so a typo is a 400 instead of silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


SLUG_MAX_LENGTH = Organization._meta.get_field("slug").max_length
# The largest primary key (a BigAutoField): a larger id is a 400, not a query that SQLite
# refuses ("Python int too large to convert to SQLite INTEGER").
MAX_ID = 2**63 - 1


class OrganizationClientField(serializers.IntegerField):
    """The id of one of the organization's clients (the serializer checks whose it is);
    the admin offers it as a choice of the user's clients, those matching `offered`."""

    def __init__(self, *, offered: Q | None = None, **kwargs):
        self.offered = offered or Q()
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class OrganizationSlugField(serializers.SlugRelatedField):
    """An organization by its slug. Text no slug can be (a NUL character, which PostgreSQL
    refuses in a query; more than a slug's length) is refused before it is looked up."""

    def to_internal_value(self, data):
        if isinstance(data, str) and ("\x00" in data or len(data) > SLUG_MAX_LENGTH):
            self.fail("invalid")
        return super().to_internal_value(data)


NO_SUCH_ORGANIZATION = "No organization with the slug {value} where you may start this workflow."


class WorkflowStartSerializer(StrictSerializer):
    """A start's request body: `organization` is the slug of an organization where the
    caller's role may run this workflow type."""

    # Its validated data, less the organization, is the run's input exactly as stored and
    # as the workflow's input dataclass holds it (fields may be renamed or flattened with
    # `source`); `to_representation(params)` gives the body back, which is how a retry with
    # overrides is validated again. An organization the caller can't use is the same field
    # error as one that doesn't exist, and the checks that look into it (whose client) run
    # only once it passed, so a caller learns nothing about organizations it can't use.

    unit: "WorkflowUnit"  # set by the unit

    organization = OrganizationSlugField(
        slug_field="slug",
        queryset=Organization.objects.all(),
        error_messages={"does_not_exist": NO_SUCH_ORGANIZATION},
    )

    def validate_organization(self, organization: Organization) -> Organization:
        # One answer for a slug that doesn't exist and for an organization the caller has no
        # role in (or not one that runs this type), so nobody learns which organizations
        # exist. Callers who may start this type nowhere got a 403 before (CanStartSomewhere).
        if not authorization.may_start(self.context["request"].user, organization, self.unit.name):
            raise serializers.ValidationError(NO_SUCH_ORGANIZATION.format(value=organization.slug))
        return organization

    def params(self) -> dict:
        """The run's input: the validated body without the organization."""
        data = dict(self.validated_data)
        data.pop("organization")
        return data

    @classmethod
    def param_names(cls) -> set[str]:
        """The input fields this serializer fills (following `source`, "*" flattening)."""

        def names(serializer: serializers.Serializer) -> set[str]:
            found = set()
            for name, field in serializer.fields.items():
                if field.source == "*" and isinstance(field, serializers.Serializer):
                    found |= names(field)
                else:
                    found.add(field.source or name)
            return found

        return names(cls()) - {"organization"}


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
class WorkflowUnit:
    definition: WorkflowDefinition
    workflow: type
    activities: tuple[Callable, ...]
    start_serializer: type[WorkflowStartSerializer]
    # The organization permission (accounts.roles) that starts and cancels runs of it.
    permission: str
    # The platform records a run created or touched, in one query.
    records: Callable[[Model], list[RunRecord]] = lambda run: []
    # The run's result as small tables for the run page (above its raw JSON); no query.
    result_tables: Callable[[Model], list[ResultTable]] = lambda run: []

    def __post_init__(self) -> None:
        if isinstance(self.start_serializer, type):
            self.start_serializer.unit = self

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def label(self) -> str:
        return self.definition.label

    def build_input(
        self, *, run_pk: str, organization_id: int, policy: WorkflowPolicy, params: dict
    ) -> WorkflowInput:
        return self.definition.input(
            run=run_pk, organization_id=organization_id, policy=policy, **params
        )

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
        if self.permission not in {codename for codename, _ in ORGANIZATION_PERMISSIONS}:
            found.append(f"permission: {self.permission!r} is not an organization permission")
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
