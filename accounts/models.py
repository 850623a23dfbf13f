from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from knox.models import AbstractAuthToken

from .roles import ORGANIZATION_PERMISSIONS, Role


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = ORGANIZATION_PERMISSIONS

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one organization. Change it only through
    orchestration.services.memberships."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="unique_membership")
        ]
        ordering = ["organization__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.organization}"


class RoleGroup(models.Model):
    """The auth group that holds one role's permissions on one organization.

    Members of the organization with that role are its users. Kept by orchestration.role_groups
    only: the link is this row, not the group's name, so renaming an organization breaks
    nothing.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="role_groups"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="role_group")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "role"], name="unique_role_group")
        ]

    def __str__(self) -> str:
        return f"{self.role} in {self.organization}"


# Direct-foreign-key object permission tables (guardian's performance guide): a real FK
# instead of a generic (content_type, object_pk) pair, so lookups join on an index.
class OrganizationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)


class OrganizationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)


class ApiToken(AbstractAuthToken):
    """An API token (django-rest-knox's, with a name). Only a digest of the secret is stored;
    `token_key` is its first characters, enough to tell tokens apart in lists and the audit
    log. Issued and revoked only through orchestration.services.tokens."""

    name = models.CharField(
        max_length=100, blank=True, help_text="What the token is for, e.g. the service using it."
    )

    class Meta:
        verbose_name = "API token"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name or 'token'} {self.token_key}… of {self.user}"
