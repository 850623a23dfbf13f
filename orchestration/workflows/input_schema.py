"""A workflow type's input schema: the start serializer every way of starting a run
validates with (the REST API, the admin's start page, schedules, retries with overrides).
Its validated data, less the organization, is the run's input as stored and as the type's
input dataclass holds it.

The REST API and the admin both translate through it (docs/architecture.md: the admin does
not import the API): a body less its organization to the input to store
(`validated_params`), a stored input back to that body (`params_as_body`), and a run's input
with a retry's overrides to a new input (`validated_retry_params`)."""

from django.db.models import Q
from rest_framework import serializers

from accounts.models import Organization
from orchestration import authorization
from orchestration.contract.definition import WorkflowDefinition
from orchestration.models import WorkflowRun


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

    definition: WorkflowDefinition  # set by the unit

    organization = OrganizationSlugField(
        slug_field="slug",
        queryset=Organization.objects.all(),
        error_messages={"does_not_exist": NO_SUCH_ORGANIZATION},
    )

    def validate_organization(self, organization: Organization) -> Organization:
        # One answer for a slug that doesn't exist and for an organization the caller has no
        # role in (or not one that runs this type), so nobody learns which organizations
        # exist. Callers who may start this type nowhere got a 403 before (CanStartSomewhere).
        if not authorization.may_start(
            self.context["request"].user, organization, self.definition.name
        ):
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

    @classmethod
    def validated_params(cls, *, organization: Organization, body: dict, context: dict) -> dict:
        """`body`, a start body less its organization, validated as a start in `organization`
        by `context["request"]`'s user: the run's input to store. Raises ValidationError with
        the field errors, nested as the body is."""
        if "organization" in body:
            raise serializers.ValidationError({"organization": ["Give it at the top level."]})
        start = cls(data={**body, "organization": organization.slug}, context=context)
        start.is_valid(raise_exception=True)
        return start.params()

    @classmethod
    def params_as_body(cls, *, organization: Organization, params: dict) -> dict:
        """A stored input as the start body gives it, less the organization: what
        `validated_params` takes back."""
        body = cls().to_representation({**params, "organization": organization})
        body.pop("organization", None)
        return dict(body)

    @classmethod
    def validated_retry_params(cls, *, run: WorkflowRun, overrides: dict, context: dict) -> dict:
        """A retry's input: `run`'s input as its start body, with `overrides` (in the body's
        shape, less the organization: a retry runs in the run's) applied, validated again.
        Raises ValidationError with field errors."""
        body = cls.params_as_body(organization=run.organization, params=run.input)
        return cls.validated_params(
            organization=run.organization, body=_merge(body, overrides), context=context
        )


def _merge(base: dict, overrides: dict) -> dict:
    # Recurses only where the stored start body has an object too, so no deeper than that
    # body (a few levels) however deep `overrides` is (the JSON parser bounds it anyway).
    merged = dict(base)
    for key, value in overrides.items():
        merged[key] = (
            _merge(merged[key], value)
            if isinstance(value, dict) and isinstance(merged.get(key), dict)
            else value
        )
    return merged
