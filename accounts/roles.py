"""The one place that says what each role may do, as guardian permissions on an Organization."""

from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    OPERATOR = "operator", "Operator"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"


# Permission codenames declared on accounts.Organization (Meta.permissions).
VIEW_RUNS = "view_runs"
RUN_STANDARD_WORKFLOWS = "run_standard_workflows"
RUN_SENSITIVE_WORKFLOWS = "run_sensitive_workflows"
MANAGE_RUNS = "manage_runs"
VIEW_CONFIGURATION = "view_configuration"
MANAGE_INTEGRATIONS = "manage_integrations"
MANAGE_MEMBERS = "manage_members"

ORGANIZATION_PERMISSIONS = [
    (VIEW_RUNS, "See the organization's runs, their history and its audit log"),
    # Which workflow types need which is said by each type's unit (orchestration.workflows).
    (RUN_STANDARD_WORKFLOWS, "Start and cancel standard workflows"),
    (RUN_SENSITIVE_WORKFLOWS, "Start and cancel sensitive workflows"),
    (MANAGE_RUNS, "Terminate and retry runs, and run bulk actions"),
    (VIEW_CONFIGURATION, "View the Temporal configuration"),
    (MANAGE_INTEGRATIONS, "Configure integrations, their connectors and credentials"),
    (MANAGE_MEMBERS, "Add, change and remove the organization's members"),
]

_VIEWER = {VIEW_RUNS}
_OPERATOR = _VIEWER | {RUN_STANDARD_WORKFLOWS}
_MANAGER = _OPERATOR | {
    RUN_SENSITIVE_WORKFLOWS,
    MANAGE_RUNS,
    VIEW_CONFIGURATION,
    MANAGE_INTEGRATIONS,
}
_ADMIN = _MANAGER | {MANAGE_MEMBERS}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset(_VIEWER),
    Role.OPERATOR: frozenset(_OPERATOR),
    Role.MANAGER: frozenset(_MANAGER),
    Role.ADMIN: frozenset(_ADMIN),
}
