"""Read-only permission selectors: which organizations a user may act on, and how.

Every queryset of organization-owned data in the console is filtered through
`organizations_for(user, codename)`, so tenancy is enforced in one place.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from guardian.shortcuts import get_objects_for_user

from .models import Organization

User = AbstractBaseUser | AnonymousUser


def organizations_for(user: User, codename: str) -> QuerySet[Organization]:
    """Organizations on which `user` holds the permission `codename` (all, for superusers)."""
    if not user.is_authenticated or not user.is_active:
        return Organization.objects.none()
    if user.is_superuser:
        return Organization.objects.all()
    return get_objects_for_user(
        user, f"accounts.{codename}", klass=Organization, accept_global_perms=False
    )


def has_organization_permission(user: User, organization: Organization, codename: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.has_perm(f"accounts.{codename}", organization)


def is_member(user: User, organization: Organization) -> bool:
    """Whether the user has any role in the organization (viewers included)."""
    return user.is_authenticated and (
        user.is_superuser or organization.memberships.filter(user_id=user.pk).exists()
    )
