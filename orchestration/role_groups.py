"""Role groups: one auth group per (organization, role) holds the role's guardian permissions on
that organization, and the organization's members with that role are the group's users.

Members never hold role permissions of their own, so a change to `accounts.roles.ROLE_PERMISSIONS`
reaches every existing member as soon as `role_permissions_sync` updates the groups; it runs
after every `migrate` (the post_migrate handler below) and as `manage.py sync_role_permissions`.
"""

import sys
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from typing import Any, TextIO

from django.apps import AppConfig
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from accounts import roles
from accounts.models import (
    Membership,
    Organization,
    OrganizationGroupObjectPermission,
    OrganizationUserObjectPermission,
    RoleGroup,
)


@dataclass(frozen=True)
class RoleSyncResult:
    """What one sync changed. All zero means everything already matched the role map."""

    groups_created: int = 0
    group_permissions_added: int = 0
    group_permissions_removed: int = 0
    members_added: int = 0
    members_removed: int = 0
    user_permissions_removed: int = 0

    @property
    def changed(self) -> bool:
        return any(astuple(self))

    def __str__(self) -> str:
        return (
            f"{self.groups_created} role groups created, "
            f"{self.group_permissions_added} group permissions added, "
            f"{self.group_permissions_removed} group permissions removed, "
            f"{self.members_added} members added to role groups, "
            f"{self.members_removed} members removed from role groups, "
            f"{self.user_permissions_removed} per-user role permissions removed"
        )


def _group_name(organization: Organization, role: str) -> str:
    # The "org:" prefix tells people in the admin whose group this is; the primary key keeps the
    # name unique when a slug is renamed and later reused (the link itself is the RoleGroup row).
    return f"org:{organization.pk}:{organization.slug}:{role}"


def _organization_permissions(codenames: Iterable[str]) -> dict[str, Permission]:
    codenames = set(codenames)
    found = {
        permission.codename: permission
        for permission in Permission.objects.filter(
            content_type=ContentType.objects.get_for_model(Organization), codename__in=codenames
        )
    }
    if missing := codenames - found.keys():
        raise LookupError(f"No such permissions on Organization: {sorted(missing)}")
    return found


def role_group_get_or_create(*, organization: Organization, role: str) -> Group:
    """The group of `role` in `organization`.

    A new organization needs no groups before its first member: that member's arrival creates
    them all, through a sync of the organization (which takes the organization's lock, so two
    first members can't create them twice), so they start with the map's permissions.
    """
    lookup = RoleGroup.objects.select_related("group").filter(organization=organization, role=role)
    role_group = lookup.first()
    if role_group is None:
        role_permissions_sync(organization=organization)
        role_group = lookup.get()
    return role_group.group


def role_permissions_sync(*, organization: Organization | None = None) -> RoleSyncResult:
    """Make the role groups of `organization` (of every organization if None) match the role map.

    Guarantees, in one transaction: every (organization, role) has its group; each group holds,
    on its own organization only, exactly the permissions ROLE_PERMISSIONS gives its role (the
    map is read now, not at import); every member is in the group of their role and in no other
    role group of the organization; no member keeps a per-user permission of the role
    vocabulary. A second run changes nothing.
    """
    role_map = roles.ROLE_PERMISSIONS
    # The vocabulary is every permission Organization declares for roles, not only those the
    # map grants today: a codename dropped from the map must not survive as a per-user leftover.
    vocabulary = {codename for codename, _ in roles.ORGANIZATION_PERMISSIONS}.union(
        *role_map.values()
    )
    permissions = _organization_permissions(vocabulary)
    scope = Organization.objects.all()
    if organization is not None:
        scope = scope.filter(pk=organization.pk)

    with transaction.atomic():
        # The same lock membership_set_role takes: no membership changes between reading the
        # memberships below and correcting the groups from them.
        organizations = list(scope.select_for_update().order_by("pk"))
        role_groups = {
            (role_group.organization_id, role_group.role): role_group
            for role_group in RoleGroup.objects.filter(organization__in=scope)
        }
        groups_created = 0
        for org in organizations:
            for role in roles.Role:
                if (org.pk, role) not in role_groups:
                    group = Group.objects.create(name=_group_name(org, role))
                    role_groups[org.pk, role] = RoleGroup.objects.create(
                        organization=org, role=role, group=group
                    )
                    groups_created += 1

        added, removed = _sync_group_permissions(scope, role_groups, role_map, permissions)
        members_added, members_removed = _sync_group_members(scope, role_groups)
        user_permissions_removed, _ = OrganizationUserObjectPermission.objects.filter(
            content_object__in=scope, permission__in=permissions.values()
        ).delete()

    return RoleSyncResult(
        groups_created=groups_created,
        group_permissions_added=added,
        group_permissions_removed=removed,
        members_added=members_added,
        members_removed=members_removed,
        user_permissions_removed=user_permissions_removed,
    )


def _sync_group_permissions(
    scope: QuerySet[Organization],
    role_groups: dict[tuple[int, str], RoleGroup],
    role_map: dict[str, frozenset[str]],
    permissions: dict[str, Permission],
) -> tuple[int, int]:
    # These are the rows guardian's assign_perm(perm, group, organization) writes; written in
    # bulk because a sync covers every organization.
    rows = OrganizationGroupObjectPermission.objects.filter(
        group__role_group__organization__in=scope
    )
    wanted = {
        (role_group.group_id, role_group.organization_id, permissions[codename].pk)
        for role_group in role_groups.values()
        for codename in role_map.get(role_group.role, ())
    }
    missing = wanted - set(rows.values_list("group_id", "content_object_id", "permission_id"))
    OrganizationGroupObjectPermission.objects.bulk_create(
        OrganizationGroupObjectPermission(
            group_id=group_id, content_object_id=organization_id, permission_id=permission_id
        )
        for group_id, organization_id, permission_id in missing
    )
    keep = Q()
    for role, codenames in role_map.items():
        keep |= Q(
            group__role_group__role=role,
            permission__in=[permissions[codename].pk for codename in codenames],
            content_object=F("group__role_group__organization"),
        )
    removed, _ = rows.exclude(keep).delete()
    return len(missing), removed


def _sync_group_members(
    scope: QuerySet[Organization], role_groups: dict[tuple[int, str], RoleGroup]
) -> tuple[int, int]:
    UserGroup = get_user_model().groups.through
    rows = UserGroup.objects.filter(group__role_group__organization__in=scope)
    wanted = {
        (user_id, role_groups[organization_id, role].group_id)
        for user_id, organization_id, role in Membership.objects.filter(
            organization__in=scope
        ).values_list("user_id", "organization_id", "role")
    }
    missing = wanted - set(rows.values_list("user_id", "group_id"))
    UserGroup.objects.bulk_create(
        UserGroup(user_id=user_id, group_id=group_id) for user_id, group_id in missing
    )
    matching_membership = Membership.objects.filter(
        user=OuterRef("user"),
        organization=OuterRef("group__role_group__organization"),
        role=OuterRef("group__role_group__role"),
    )
    removed, _ = rows.exclude(Exists(matching_membership)).delete()
    return len(missing), removed


def role_permissions_sync_after_migrate(
    *, app_config: AppConfig, verbosity: int, using: str, **kwargs: Any
) -> None:
    """post_migrate handler for accounts: every deploy's `migrate` applies the current role map.

    It is also what converts the per-user permissions of before role groups (see migration
    0002): members keep those until this sync has given their groups the same rights.
    """
    executor = MigrationExecutor(connections[using])
    if executor.migration_plan(executor.loader.graph.leaf_nodes(app_config.label)):
        # accounts is migrated to an earlier state (a rollback): the models in this code may
        # not match its tables.
        return
    result = role_permissions_sync()
    if result.changed and verbosity >= 1:
        stdout: TextIO = kwargs.get("stdout") or sys.stdout
        stdout.write(f"Role permissions synced: {result}\n")


def role_group_deleted(*, instance: RoleGroup, **kwargs: Any) -> None:
    """post_delete handler: a role group's auth group goes with it (with its organization)."""
    Group.objects.filter(pk=instance.group_id).delete()
