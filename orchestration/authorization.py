"""Who may do what to runs, in one place: the API's permission classes, the admin's actions
and start pages, and the services' own guarantees all ask these functions.

Which permission a workflow type needs comes from its definition (orchestration.contract);
what a role holds comes from `accounts.roles`. Superusers hold everything (accounts.permissions).
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from accounts.models import Organization
from accounts.permissions import (
    has_organization_permission,
    holds_anywhere,
    organizations_for,
    organizations_holding_any,
)
from accounts.roles import MANAGE_RUNS, VIEW_CONFIGURATION, VIEW_RUNS
from orchestration.contract.registry import DEFINITIONS, get_definition

User = AbstractBaseUser | AnonymousUser


def start_organizations(user: User, workflow_type: str) -> QuerySet[Organization]:
    """The organizations where `user` may start (and cancel) runs of `workflow_type`."""
    return organizations_for(user, get_definition(workflow_type).permission)


def startable_organizations(user: User) -> QuerySet[Organization]:
    """The organizations where `user` may start some workflow type."""
    return organizations_holding_any(
        user, {definition.permission for definition in DEFINITIONS.values()}
    )


def starts_somewhere(user: User, workflow_type: str) -> bool:
    return holds_anywhere(user, get_definition(workflow_type).permission)


def startable_types(user: User) -> list[str]:
    """The workflow types `user` may start somewhere, in the registry's order."""
    held = {
        permission: holds_anywhere(user, permission)
        for permission in {definition.permission for definition in DEFINITIONS.values()}
    }
    return [name for name, definition in DEFINITIONS.items() if held[definition.permission]]


def may_start(user: User, organization: Organization, workflow_type: str) -> bool:
    permission = get_definition(workflow_type).permission
    return has_organization_permission(user, organization, permission)


def require_start(user: User, organization: Organization, workflow_type: str) -> None:
    if not may_start(user, organization, workflow_type):
        raise PermissionDenied(f"You may not run {workflow_type} workflows in {organization.slug}.")


def views_somewhere(user: User) -> bool:
    """Whether `user` may see some organization's runs (the admin's pages open to them)."""
    return holds_anywhere(user, VIEW_RUNS)


def may_view(user: User, run) -> bool:
    return has_organization_permission(user, run.organization, VIEW_RUNS)


def may_cancel(user: User, run) -> bool:
    """Whoever may start a run of its type in its organization may cancel it."""
    return may_start(user, run.organization, run.workflow_type)


def require_cancel(user: User, run) -> None:
    if not may_cancel(user, run):
        raise PermissionDenied(
            f"You may not cancel {run.workflow_type} workflows in {run.organization.slug}."
        )


def may_manage(user: User, run) -> bool:
    """Terminate, retry and refresh: managers and admins of the run's organization."""
    return has_organization_permission(user, run.organization, MANAGE_RUNS)


def require_manage(user: User, run) -> None:
    if not may_manage(user, run):
        raise PermissionDenied(f"Your role in {run.organization.slug} does not allow this.")


def manages_somewhere(user: User) -> bool:
    return holds_anywhere(user, MANAGE_RUNS)


def cancels_somewhere(user: User) -> bool:
    return bool(startable_types(user))


def may_view_configuration(user: User) -> bool:
    return holds_anywhere(user, VIEW_CONFIGURATION)
