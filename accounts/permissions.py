"""Read-only permission selectors: which organizations a user may act on, and how.

Every queryset of organization-owned data in the console is filtered through
`organizations_for(user, codename)`, so tenancy is enforced in one place.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import get_objects_for_user

from .models import (
    Organization,
    OrganizationGroupObjectPermission,
    OrganizationUserObjectPermission,
)
from .roles import MANAGE_MEMBERS

User = AbstractBaseUser | AnonymousUser


def organizations_for(user: User, codename: str) -> QuerySet[Organization]:
    """Organizations on which `user` holds the permission `codename` (all, for superusers)."""
    if not user.is_authenticated or not user.is_active:
        return Organization.objects.none()
    if user.is_superuser:
        return Organization.objects.all()
    # Role permissions are held by role groups (accounts.role_sync), never by the user.
    return get_objects_for_user(
        user,
        f"accounts.{codename}",
        klass=Organization,
        use_groups=True,
        accept_global_perms=False,
    )


def holds_on_organization(user: User, codename: str) -> Q:
    """A filter on a model's `organization_id`: the organizations where `user` holds
    `codename`, the same set as `organizations_for`, read from the direct-foreign-key
    permission tables in one subquery each. Guardian's `get_objects_for_user` builds the same
    set generically, at a cost in Python (a few milliseconds) that a page polling once a
    second per viewer shouldn't pay."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    held = {"permission__codename": codename, "permission__content_type__app_label": "accounts"}
    by_groups = OrganizationGroupObjectPermission.objects.filter(group__user=user, **held)
    by_user = OrganizationUserObjectPermission.objects.filter(user=user, **held)
    return Q(organization_id__in=by_groups.values("content_object_id")) | Q(
        organization_id__in=by_user.values("content_object_id")
    )


def has_organization_permission(user: User, organization: Organization, codename: str) -> bool:
    """Whether `user` holds `codename` on `organization`.

    The guardian checker is kept on the user object, so a request (one user object) asks the
    database once per organization however many times it checks; the next request, with a
    fresh user object, sees role changes.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    checker = getattr(user, "_organization_permission_checker", None)
    if checker is None:
        checker = user._organization_permission_checker = ObjectPermissionChecker(user)
    return checker.has_perm(codename, organization)


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
