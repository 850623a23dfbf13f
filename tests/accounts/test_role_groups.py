"""Role permissions are held by one group per (organization, role); members are in the group of
their role, so a change to the role map reaches every existing member once the sync runs."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from guardian.shortcuts import assign_perm

from accounts import roles
from accounts.models import (
    Membership,
    Organization,
    OrganizationGroupObjectPermission,
    OrganizationUserObjectPermission,
    RoleGroup,
)
from accounts.roles import MANAGE_MEMBERS, VIEW_CONFIGURATION, VIEW_RUNS, Role
from orchestration.authorization import holds, organizations_holding
from orchestration.role_groups import role_permissions_sync
from orchestration.services.memberships import membership_remove, membership_set_role

NOTHING_CHANGED = (
    "0 role groups created, 0 group permissions added, 0 group permissions removed, "
    "0 members added to role groups, 0 members removed from role groups, "
    "0 per-user role permissions removed"
)


def fresh(user):
    """The user as the next request sees it (guardian caches permissions per user object)."""
    return type(user).objects.get(pk=user.pk)


def role_groups_of(user, organization) -> set[str]:
    return set(
        RoleGroup.objects.filter(organization=organization, group__user=user).values_list(
            "role", flat=True
        )
    )


def sync_command() -> str:
    out = StringIO()
    call_command("sync_role_permissions", stdout=out)
    return out.getvalue()


def test_the_first_member_creates_the_organizations_groups_with_the_maps_permissions(
    orgs, django_user_model
):
    assert not RoleGroup.objects.filter(organization=orgs["acme"]).exists()
    user = django_user_model.objects.create_user("u")
    membership_set_role(organization=orgs["acme"], user=user, role=Role.OPERATOR)

    groups = RoleGroup.objects.filter(organization=orgs["acme"]).select_related("group")
    assert {group.role for group in groups} == set(Role)
    for role_group in groups:
        assert role_group.group.name == f"org:{orgs['acme'].pk}:acme:{role_group.role}"
        held = OrganizationGroupObjectPermission.objects.filter(group=role_group.group)
        assert {row.permission.codename for row in held} == roles.ROLE_PERMISSIONS[role_group.role]
        assert {row.content_object_id for row in held} == {orgs["acme"].pk}
    assert role_groups_of(user, orgs["acme"]) == {Role.OPERATOR}
    assert not OrganizationUserObjectPermission.objects.exists()


def test_a_changed_map_reaches_existing_members_when_the_sync_runs(users, orgs, monkeypatch):
    viewer = users["acme-viewer"]
    assert holds(fresh(viewer), orgs["acme"], VIEW_RUNS)
    assert not holds(fresh(viewer), orgs["acme"], VIEW_CONFIGURATION)

    monkeypatch.setattr(
        roles,
        "ROLE_PERMISSIONS",
        {**roles.ROLE_PERMISSIONS, Role.VIEWER: frozenset({VIEW_CONFIGURATION})},
    )
    result = role_permissions_sync()

    # The viewer groups of both organizations: one permission gained, one lost, each.
    assert (result.group_permissions_added, result.group_permissions_removed) == (2, 2)
    assert not result.groups_created and not result.members_added and not result.members_removed
    viewer = fresh(viewer)
    assert holds(viewer, orgs["acme"], VIEW_CONFIGURATION)
    assert not holds(viewer, orgs["acme"], VIEW_RUNS)
    assert list(organizations_holding(viewer, VIEW_CONFIGURATION)) == [orgs["acme"]]
    assert not organizations_holding(viewer, VIEW_RUNS).exists()
    # Other roles are untouched.
    assert holds(fresh(users["acme-operator"]), orgs["acme"], VIEW_RUNS)
    assert not role_permissions_sync().changed


def test_the_sync_of_one_organization_leaves_the_others_alone(users, orgs, monkeypatch):
    monkeypatch.setattr(
        roles,
        "ROLE_PERMISSIONS",
        {**roles.ROLE_PERMISSIONS, Role.MANAGER: roles.ROLE_PERMISSIONS[Role.ADMIN]},
    )
    result = role_permissions_sync(organization=orgs["globex"])

    assert result.group_permissions_added == 1
    assert holds(users["globex-manager"], orgs["globex"], MANAGE_MEMBERS)
    assert not holds(users["acme-manager"], orgs["acme"], MANAGE_MEMBERS)


def test_changing_a_role_moves_the_member_between_groups(users, orgs):
    user = users["acme-viewer"]
    membership_set_role(organization=orgs["globex"], user=user, role=Role.OPERATOR)
    membership_set_role(organization=orgs["acme"], user=user, role=Role.MANAGER)

    assert role_groups_of(user, orgs["acme"]) == {Role.MANAGER}
    assert role_groups_of(user, orgs["globex"]) == {Role.OPERATOR}
    user = fresh(user)
    assert holds(user, orgs["acme"], "run_sensitive_workflows")
    assert not holds(user, orgs["globex"], "run_sensitive_workflows")

    membership_set_role(organization=orgs["acme"], user=user, role=Role.VIEWER)
    assert role_groups_of(user, orgs["acme"]) == {Role.VIEWER}
    assert not holds(fresh(user), orgs["acme"], "run_sensitive_workflows")
    assert not role_permissions_sync().changed


def test_removing_a_member_leaves_no_permission(users, orgs):
    user = users["acme-admin"]
    membership_set_role(organization=orgs["globex"], user=user, role=Role.VIEWER)
    membership_remove(membership=Membership.objects.get(user=user, organization=orgs["acme"]))

    assert role_groups_of(user, orgs["acme"]) == set()
    user = fresh(user)
    for codename, _ in roles.ORGANIZATION_PERMISSIONS:
        assert not holds(user, orgs["acme"], codename), codename
    assert list(organizations_holding(user, VIEW_RUNS)) == [orgs["globex"]]
    assert not OrganizationUserObjectPermission.objects.filter(user=user).exists()


def test_per_user_leftovers_become_group_membership(orgs, django_user_model):
    """The state before role groups: memberships whose rights are per-user permissions."""
    user = django_user_model.objects.create_user("legacy")
    Membership.objects.create(user=user, organization=orgs["acme"], role=Role.OPERATOR)
    for codename in roles.ROLE_PERMISSIONS[Role.OPERATOR]:
        assign_perm(f"accounts.{codename}", user, orgs["acme"])

    result = role_permissions_sync()

    assert result.user_permissions_removed == len(roles.ROLE_PERMISSIONS[Role.OPERATOR])
    assert (result.groups_created, result.members_added) == (2 * len(Role), 1)
    assert not OrganizationUserObjectPermission.objects.exists()
    assert role_groups_of(user, orgs["acme"]) == {Role.OPERATOR}
    assert holds(fresh(user), orgs["acme"], "run_standard_workflows")
    assert not holds(fresh(user), orgs["acme"], MANAGE_MEMBERS)


def test_the_command_prints_what_it_changed_and_a_second_run_changes_nothing(users, orgs):
    acme_viewers = RoleGroup.objects.get(organization=orgs["acme"], role=Role.VIEWER).group
    admins = RoleGroup.objects.get(organization=orgs["acme"], role=Role.ADMIN).group
    # Hand edits and leftovers the sync must undo: a per-user permission, a member taken out
    # of their group, another put into a group that isn't their role's, an extra group
    # permission and one on the wrong organization; and an organization with no groups yet.
    assign_perm(f"accounts.{MANAGE_MEMBERS}", users["outsider"], orgs["acme"])
    users["acme-viewer"].groups.remove(acme_viewers)
    users["acme-operator"].groups.add(admins)
    assign_perm(f"accounts.{MANAGE_MEMBERS}", acme_viewers, orgs["acme"])
    assign_perm(f"accounts.{VIEW_RUNS}", acme_viewers, orgs["globex"])
    Organization.objects.create(name="Initech", slug="initech")

    first = sync_command()
    # The new organization's groups are created and then given their permissions.
    initech_permissions = sum(map(len, roles.ROLE_PERMISSIONS.values()))
    assert (
        f"4 role groups created, {initech_permissions} group permissions added, "
        "2 group permissions removed, 1 members added to role groups, "
        "1 members removed from role groups, 1 per-user role permissions removed"
    ) in first
    assert role_groups_of(users["acme-viewer"], orgs["acme"]) == {Role.VIEWER}
    assert role_groups_of(users["acme-operator"], orgs["acme"]) == {Role.OPERATOR}
    assert not holds(fresh(users["outsider"]), orgs["acme"], MANAGE_MEMBERS)

    second = sync_command()
    assert NOTHING_CHANGED in second
    assert "Nothing changed" in second


def test_migrate_applies_the_role_map(users, orgs, monkeypatch):
    """Every deploy's `migrate` runs the sync (accounts' post_migrate handler)."""
    monkeypatch.setattr(
        roles,
        "ROLE_PERMISSIONS",
        {**roles.ROLE_PERMISSIONS, Role.VIEWER: frozenset({VIEW_RUNS, VIEW_CONFIGURATION})},
    )
    out = StringIO()
    call_command("migrate", verbosity=1, stdout=out)

    assert "Role permissions synced: 0 role groups created, 2 group permissions added" in (
        out.getvalue()
    )
    assert holds(fresh(users["acme-viewer"]), orgs["acme"], VIEW_CONFIGURATION)


def test_an_organizations_groups_go_with_it(orgs):
    initech = Organization.objects.create(name="Initech", slug="initech")
    role_permissions_sync(organization=initech)
    group_ids = list(initech.role_groups.values_list("group_id", flat=True))
    assert len(group_ids) == len(Role)

    initech.delete()
    assert not Group.objects.filter(pk__in=group_ids).exists()


@pytest.mark.parametrize("path", ["/admin/auth/group/", "/admin/auth/group/{pk}/change/"])
def test_role_groups_are_not_editable_in_the_admin(client, django_user_model, users, path):
    Group.objects.create(name="support-staff")
    role_group = RoleGroup.objects.select_related("group").first()
    client.force_login(django_user_model.objects.create_superuser("root"))
    response = client.get(path.format(pk=role_group.group_id), follow=True)
    if "{pk}" in path:
        # The admin redirects to the index with "doesn't exist" for objects outside its queryset.
        assert response.redirect_chain and response.redirect_chain[-1][0] == "/admin/"
    else:
        assert b"support-staff" in response.content
        assert role_group.group.name.encode() not in response.content
