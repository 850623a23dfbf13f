"""Read-only permission selectors: which organizations a user may act on, and how.

Every queryset of organization-owned data in the console is filtered through
`organizations_for(user, codename)`, so tenancy is enforced in one place.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from .models import (
    Organization,
    OrganizationGroupObjectPermission,
    OrganizationUserObjectPermission,
)
from .roles import MANAGE_MEMBERS

User = AbstractBaseUser | AnonymousUser


def organizations_for(user: User, codename: str) -> QuerySet[Organization]:
    """Organizations on which `user` holds the permission `codename` (all, for superusers)."""
    return organizations_holding_any(user, {codename})


def organizations_holding_any(user: User, codenames: set[str]) -> QuerySet[Organization]:
    """Organizations on which `user` holds one of `codenames` (all, for superusers)."""
    if not user.is_authenticated or not user.is_active:
        return Organization.objects.none()
    if user.is_superuser:
        return Organization.objects.all()
    held = organization_permissions(user)
    return Organization.objects.filter(pk__in=[pk for pk in held if held[pk] & codenames])


def organization_permissions(user: User) -> dict[int, frozenset[str]]:
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


def holds_anywhere(user: User, codename: str) -> bool:
    """Whether `user` holds `codename` on some organization (superusers: on all of them)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        if not hasattr(user, "_any_organization"):
            user._any_organization = Organization.objects.exists()
        return user._any_organization
    return any(codename in held for held in organization_permissions(user).values())


def has_organization_permission(user: User, organization: Organization, codename: str) -> bool:
    """Whether `user` holds `codename` on `organization` (`organization_permissions`)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return codename in organization_permissions(user).get(organization.pk, ())


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
    managed = organizations_for(user, MANAGE_MEMBERS)
    return users.filter(
        Q(memberships__organization__in=managed) | Q(memberships__isnull=True),
        is_active=True,
        is_superuser=False,
    ).distinct()
