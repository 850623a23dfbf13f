"""Who may do what to runs, in one place: the API's permission classes, the admin's actions
and start pages, and the services' own guarantees all ask these functions.

Which permission a workflow type needs comes from its unit (the registry); what a role holds
comes from `accounts.roles`. Superusers hold everything (accounts.permissions).
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

User = AbstractBaseUser | AnonymousUser


def _registry():
    # Imported when first asked: the registry imports the units, whose start serializers
    # import this module.
    from orchestration.workflows import registry

    return registry


def start_organizations(user: User, workflow_type: str) -> QuerySet[Organization]:
    """The organizations where `user` may start (and cancel) runs of `workflow_type`."""
    return organizations_for(user, _registry().get_unit(workflow_type).permission)


def startable_organizations(user: User) -> QuerySet[Organization]:
    """The organizations where `user` may start some workflow type."""
    return organizations_holding_any(user, {unit.permission for unit in _registry().UNITS.values()})


def starts_somewhere(user: User, workflow_type: str) -> bool:
    return holds_anywhere(user, _registry().get_unit(workflow_type).permission)


def startable_types(user: User) -> list[str]:
    """The workflow types `user` may start somewhere, in the registry's order."""
    units = _registry().UNITS
    held = {
        permission: holds_anywhere(user, permission)
        for permission in {unit.permission for unit in units.values()}
    }
    return [name for name, unit in units.items() if held[unit.permission]]


def may_start(user: User, organization: Organization, workflow_type: str) -> bool:
    permission = _registry().get_unit(workflow_type).permission
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
