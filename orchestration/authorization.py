"""Who may see and do what, in one place: the one door (docs/architecture.md, rule 4).

It answers "which organizations may this user see or act in" (every queryset, selector,
codec call and admin list is scoped through it) and "may this user do X to this object" (the
API's permission classes, the admin's actions and start pages, and the services' own
guarantees ask it). It is the only reader of guardian's organization permission tables;
how roles become rows in them lives beside it (`role_groups.py`).

Which permission a workflow type needs comes from its definition (orchestration.contract);
what a role holds comes from `accounts.roles`. Superusers hold everything, without rows.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from accounts.models import (
    Organization,
    OrganizationGroupObjectPermission,
    OrganizationUserObjectPermission,
)
from accounts.roles import (
    MANAGE_INTEGRATIONS,
    MANAGE_MEMBERS,
    MANAGE_RUNS,
    VIEW_CONFIGURATION,
    VIEW_RUNS,
)
from orchestration.contract.registry import DEFINITIONS, get_definition

User = AbstractBaseUser | AnonymousUser


# --- what a user holds where (guardian's tables) -------------------------------------------
def organizations_holding(user: User, codename: str) -> QuerySet[Organization]:
    """Organizations on which `user` holds the permission `codename` (all, for superusers)."""
    return _organizations_holding_any(user, {codename})


def _organizations_holding_any(user: User, codenames: set[str]) -> QuerySet[Organization]:
    """Organizations on which `user` holds one of `codenames` (all, for superusers)."""
    if not user.is_authenticated or not user.is_active:
        return Organization.objects.none()
    if user.is_superuser:
        return Organization.objects.all()
    held = _organization_permissions(user)
    return Organization.objects.filter(pk__in=[pk for pk in held if held[pk] & codenames])


def _organization_permissions(user: User) -> dict[int, frozenset[str]]:
    """What `user` holds where: {organization id: codenames}, from both of guardian's
    organization permission tables in one query.

    Kept on the user object, so a request (one user object) asks once however many checks it
    makes (a start asks three: may start somewhere, in the named organization, and the
    service's own guarantee); the next request, with a fresh user object, sees role changes.
    Guardian's checker asked once per organization and `get_objects_for_user` built a
    generic query at a cost of milliseconds in Python per call. Not for superusers, who hold
    everything without rows."""
    held = getattr(user, "_organization_permissions", None)
    if held is not None:
        return held
    app = {"permission__content_type__app_label": "accounts"}
    pairs = ("content_object_id", "permission__codename")
    by_groups = OrganizationGroupObjectPermission.objects.filter(group__user=user, **app)
    by_user = OrganizationUserObjectPermission.objects.filter(user=user, **app)
    rows = by_groups.values_list(*pairs).union(by_user.values_list(*pairs))
    collected: dict[int, set[str]] = {}
    for organization_id, codename in rows:
        collected.setdefault(organization_id, set()).add(codename)
    held = {pk: frozenset(codenames) for pk, codenames in collected.items()}
    user._organization_permissions = held
    return held


def _holds_anywhere(user: User, codename: str) -> bool:
    """Whether `user` holds `codename` on some organization (superusers: on all of them)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        if not hasattr(user, "_any_organization"):
            user._any_organization = Organization.objects.exists()
        return user._any_organization
    return any(codename in held for held in _organization_permissions(user).values())


def holds(user: User, organization: Organization, codename: str) -> bool:
    """Whether `user` holds `codename` on `organization` (`_organization_permissions`)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return codename in _organization_permissions(user).get(organization.pk, ())


def users_addable_by(user: User) -> QuerySet:
    """Users `user` may add to an organization they manage, by username: members of an
    organization they manage, and accounts in no organization yet (new ones, which only a
    superuser creates). Superusers may add anyone. Nobody else is visible to an organization
    admin: not other tenants' users, not superusers."""
    users = get_user_model().objects.all()
    if not user.is_authenticated or not user.is_active:
        return users.none()
    if user.is_superuser:
        return users
    managed = organizations_holding(user, MANAGE_MEMBERS)
    return users.filter(
        Q(memberships__organization__in=managed) | Q(memberships__isnull=True),
        is_active=True,
        is_superuser=False,
    ).distinct()


# --- which organizations a user may see or act in -----------------------------------------
def visible_organizations(user: User) -> QuerySet[Organization]:
    """The organizations whose runs, records, schedules and audit log `user` may see."""
    return organizations_holding(user, VIEW_RUNS)


def may_view_organization(user: User, organization: Organization) -> bool:
    return holds(user, organization, VIEW_RUNS)


def integration_organizations(user: User) -> QuerySet[Organization]:
    """The organizations whose integrations (connectors, credentials) `user` may configure."""
    return organizations_holding(user, MANAGE_INTEGRATIONS)


def may_configure_integrations(user: User, organization: Organization) -> bool:
    return holds(user, organization, MANAGE_INTEGRATIONS)


def member_organizations(user: User) -> QuerySet[Organization]:
    """The organizations whose members `user` may add, change and remove."""
    return organizations_holding(user, MANAGE_MEMBERS)


# --- what a user may do to runs -------------------------------------------------------------
def start_organizations(user: User, workflow_type: str) -> QuerySet[Organization]:
    """The organizations where `user` may start (and cancel) runs of `workflow_type`."""
    return organizations_holding(user, get_definition(workflow_type).permission)


def startable_organizations(user: User) -> QuerySet[Organization]:
    """The organizations where `user` may start some workflow type."""
    return _organizations_holding_any(
        user, {definition.permission for definition in DEFINITIONS.values()}
    )


def starts_somewhere(user: User, workflow_type: str) -> bool:
    return _holds_anywhere(user, get_definition(workflow_type).permission)


def startable_types(user: User) -> list[str]:
    """The workflow types `user` may start somewhere, in the registry's order."""
    held = {
        permission: _holds_anywhere(user, permission)
        for permission in {definition.permission for definition in DEFINITIONS.values()}
    }
    return [name for name, definition in DEFINITIONS.items() if held[definition.permission]]


def may_start(user: User, organization: Organization, workflow_type: str) -> bool:
    permission = get_definition(workflow_type).permission
    return holds(user, organization, permission)


def require_start(user: User, organization: Organization, workflow_type: str) -> None:
    if not may_start(user, organization, workflow_type):
        raise PermissionDenied(f"You may not run {workflow_type} workflows in {organization.slug}.")


def views_somewhere(user: User) -> bool:
    """Whether `user` may see some organization's runs (the admin's pages open to them)."""
    return _holds_anywhere(user, VIEW_RUNS)


def may_view(user: User, run) -> bool:
    return holds(user, run.organization, VIEW_RUNS)


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
    return holds(user, run.organization, MANAGE_RUNS)


def require_manage(user: User, run) -> None:
    if not may_manage(user, run):
        raise PermissionDenied(f"Your role in {run.organization.slug} does not allow this.")


def manages_somewhere(user: User) -> bool:
    return _holds_anywhere(user, MANAGE_RUNS)


def cancels_somewhere(user: User) -> bool:
    return bool(startable_types(user))


def may_view_configuration(user: User) -> bool:
    return _holds_anywhere(user, VIEW_CONFIGURATION)
