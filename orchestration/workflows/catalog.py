"""The README's tables about workflow types, written from the registry: how to start each
type, its steps and policy, and which role may do what. `manage.py workflow_catalog` prints
them (`--write README.md` puts them between the README's catalog markers); a test checks the
README agrees, so adding a type can't leave the docs behind."""

from rest_framework import serializers

from accounts.roles import ORGANIZATION_PERMISSIONS, ROLE_PERMISSIONS, Role
from orchestration.workflows.input_schema import OrganizationClientField
from orchestration.workflows.units import WorkflowUnit

from .registry import UNITS

BEGIN = "<!-- workflow-catalog: written by `manage.py workflow_catalog --write README.md` -->"
END = "<!-- workflow-catalog: end -->"


def _seconds(value: int | None) -> str:
    if value is None:
        return "none"
    return f"{value // 60} min" if value >= 60 and value % 60 == 0 else f"{value} s"


def _body(serializer: serializers.Serializer) -> str:
    parts = []
    for name, field in serializer.fields.items():
        key = f'"{name}"' if field.required else f'"{name}"?'
        if isinstance(field, serializers.Serializer):
            parts.append(f"{key}: {_body(field)}")
        elif isinstance(field, OrganizationClientField):
            parts.append(f"{key}: <client id>")
        elif isinstance(field, serializers.ChoiceField):
            parts.append(f"{key}: {'/'.join(field.choices)}")
        elif isinstance(field, serializers.ListField) and isinstance(
            field.child, serializers.ChoiceField
        ):
            parts.append(f"{key}: [{', '.join(field.child.choices)}]")
        else:
            parts.append(key)
    return "{" + ", ".join(parts) + "}"


def _steps(unit: WorkflowUnit) -> str:
    return " -> ".join(
        f"`{step.name}` ({_seconds(step.start_to_close_seconds)}, "
        f"{_seconds(step.heartbeat_seconds)}{', training queue' if step.training else ''})"
        for step in unit.definition.steps
    )


def _roles_holding(permission: str) -> str:
    return ", ".join(role.label.lower() for role in Role if permission in ROLE_PERMISSIONS[role])


def catalog_markdown() -> str:
    lines = [
        BEGIN,
        "",
        "| workflow | what it does | start body (`POST /api/temporal/workflows/<workflow>`) |",
        "|---|---|---|",
        *(
            f"| `{name}` | {unit.definition.description} | `{_body(unit.start_serializer())}` |"
            for name, unit in UNITS.items()
        ),
        "",
        "| workflow | activities, in order (start-to-close timeout, heartbeat timeout) "
        "| workflow timeout | attempts per activity | started and cancelled by |",
        "|---|---|---|---|---|",
        *(
            f"| `{name}` | {_steps(unit)} "
            f"| {_seconds(unit.definition.execution_timeout_seconds)} "
            f"| {unit.definition.maximum_attempts} | {_roles_holding(unit.permission)} |"
            for name, unit in UNITS.items()
        ),
        "",
        "| permission (per organization) | roles holding it |",
        "|---|---|",
        *(
            f"| `{codename}`: {description} | {_roles_holding(codename)} |"
            for codename, description in ORGANIZATION_PERMISSIONS
        ),
        "",
        END,
    ]
    return "\n".join(lines)


def readme_with_catalog(readme: str) -> str:
    """`readme` with the text between the catalog markers replaced by today's catalog."""
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    return readme[:start] + catalog_markdown() + readme[end:]
