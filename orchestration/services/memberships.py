"""Membership changes. With orchestration.role_groups, the only code that changes who holds
what."""

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction

from accounts.models import Membership, Organization
from accounts.roles import Role
from orchestration.role_groups import role_group_get_or_create
from orchestration.services.audit import AuditAction, audit_event_record


def _member_role_group_set(
    user: AbstractBaseUser, organization: Organization, group: Group | None
) -> None:
    # Role permissions are held by the role's group, so a member's rights in the organization
    # are exactly which of its role groups they are in: `group`, or none.
    stale = user.groups.through.objects.filter(
        user=user, group__role_group__organization=organization
    )
    if group is not None:
        stale = stale.exclude(group=group)
        user.groups.add(group)
    stale.delete()


def _organization_lock(organization: Organization) -> None:
    # role_permissions_sync takes the same lock: it must not read the memberships while one
    # changes, nor one change while it corrects the groups.
    Organization.objects.select_for_update().get(pk=organization.pk)


def membership_set_role(
    *,
    organization: Organization,
    user: AbstractBaseUser,
    role: str,
    actor: AbstractBaseUser | None = None,
) -> Membership:
    """Add `user` to `organization` with `role`, or change their role.

    Guarantees: the membership row, the user's role group in the organization (so their
    guardian permissions on it) and an audit event change together or not at all; the new role
    applies on the next request.
    """
    role = Role(role)
    with transaction.atomic():
        _organization_lock(organization)
        membership, created = Membership.objects.select_for_update().get_or_create(
            user=user, organization=organization, defaults={"role": role}
        )
        previous = None if created else membership.role
        if not created and membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
        group = role_group_get_or_create(organization=organization, role=role)
        _member_role_group_set(user, organization, group)
        if created or previous != role:
            audit_event_record(
                action=AuditAction.MEMBERSHIP_SET,
                actor=actor,
                organization=organization,
                payload={"user": user.get_username(), "role": role, "previous_role": previous},
            )
    return membership


def membership_remove(*, membership: Membership, actor: AbstractBaseUser | None = None) -> None:
    """Remove a member from the organization and from its role groups, with an audit event."""
    with transaction.atomic():
        _organization_lock(membership.organization)
        _member_role_group_set(membership.user, membership.organization, None)
        audit_event_record(
            action=AuditAction.MEMBERSHIP_REMOVE,
            actor=actor,
            organization=membership.organization,
            payload={"user": membership.user.get_username(), "role": membership.role},
        )
        membership.delete()
