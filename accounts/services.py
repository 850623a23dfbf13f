"""Membership changes. The only code that grants or revokes guardian permissions."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from orchestration.services.audit import AuditAction, audit_event_record

from .models import Membership, Organization
from .roles import ROLE_PERMISSIONS, Role


def _sync_permissions(user: AbstractBaseUser, organization: Organization, role: str | None) -> None:
    granted = ROLE_PERMISSIONS.get(role, frozenset()) if role else frozenset()
    for codename in set().union(*ROLE_PERMISSIONS.values()):
        perm = f"accounts.{codename}"
        if codename in granted:
            assign_perm(perm, user, organization)
        else:
            remove_perm(perm, user, organization)


def membership_set_role(
    *,
    organization: Organization,
    user: AbstractBaseUser,
    role: str,
    actor: AbstractBaseUser | None = None,
) -> Membership:
    """Add `user` to `organization` with `role`, or change their role.

    Guarantees: the membership row, the user's guardian permissions on the organization and
    an audit event change together or not at all; the new role applies on the next request.
    """
    role = Role(role)
    with transaction.atomic():
        membership, created = Membership.objects.select_for_update().get_or_create(
            user=user, organization=organization, defaults={"role": role}
        )
        previous = None if created else membership.role
        if not created and membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
        _sync_permissions(user, organization, role)
        if created or previous != role:
            audit_event_record(
                action=AuditAction.MEMBERSHIP_SET,
                actor=actor,
                organization=organization,
                payload={"user": user.get_username(), "role": role, "previous_role": previous},
            )
    return membership


def membership_remove(*, membership: Membership, actor: AbstractBaseUser | None = None) -> None:
    """Remove a member and every permission the role gave them, with an audit event."""
    with transaction.atomic():
        _sync_permissions(membership.user, membership.organization, None)
        audit_event_record(
            action=AuditAction.MEMBERSHIP_REMOVE,
            actor=actor,
            organization=membership.organization,
            payload={"user": membership.user.get_username(), "role": membership.role},
        )
        membership.delete()
