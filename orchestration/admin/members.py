from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from knox.models import AuthToken

from accounts.models import ApiToken, Membership, Organization
from orchestration import authorization
from orchestration.services.lockouts import login_attempts_reset
from orchestration.services.memberships import membership_remove, membership_set_role
from orchestration.services.tokens import api_token_revoke

# Role groups (accounts.RoleGroup) are kept by orchestration.role_groups: a hand edit would grant or
# withdraw a role's rights in one organization until the next sync undid it. The groups screen
# shows only the groups people manage.
admin.site.unregister(Group)


@admin.register(Group)
class UserManagedGroupAdmin(GroupAdmin):
    def get_queryset(self, request):
        return super().get_queryset(request).filter(role_group__isnull=True)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return authorization.visible_organizations(request.user)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return (
            request.user.is_superuser or authorization.visible_organizations(request.user).exists()
        )

    # Creating and renaming organizations is for superusers (Django's model permissions).


class MembershipAddForm(forms.ModelForm):
    """Add a member by username, so organization admins never see a list of every user.

    Only users `users_addable_by` the admin can be named; any other username, unknown or a
    member of other organizations only, gets the same answer, so the form tells an
    organization admin nothing about other tenants' users."""

    UNAVAILABLE = (
        "No user with this username that you may add: it must be a member of an organization "
        "you manage, or a new account in no organization yet (a superuser creates accounts)."
    )

    username = forms.CharField(max_length=150)
    adding_user = None  # the admin's request.user, set by MembershipAdmin.get_form

    class Meta:
        model = Membership
        fields = ["username", "organization", "role"]

    def clean_username(self):
        addable = authorization.users_addable_by(self.adding_user)
        user = addable.filter(username=self.cleaned_data["username"]).first()
        if user is None:
            raise forms.ValidationError(self.UNAVAILABLE)
        # On the instance, so model validation reports an existing membership.
        self.instance.user = user
        return user


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    # Only organizations this admin manages (those its members list shows), never others'.
    list_filter = ["role", ("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "organization__slug"]
    list_select_related = ["user", "organization"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = type(
                "MembershipAddForm", (MembershipAddForm,), {"adding_user": request.user}
            )
            kwargs["fields"] = ["username", "organization", "role"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["user", "organization", "role"] if obj else ["username", "organization", "role"]

    def get_readonly_fields(self, request, obj=None):
        # A membership is one user in one organization; moving it would be a different one.
        return ["user", "organization"] if obj else []

    def _managed(self, request):
        return authorization.member_organizations(request.user)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(organization__in=self._managed(request))

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff and self._managed(request).exists()

    def has_view_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def has_add_permission(self, request):
        return self._managed(request).exists()

    def has_change_permission(self, request, obj=None):
        managed = self._managed(request)
        if obj is None:
            return managed.exists()
        return managed.filter(pk=obj.organization_id).exists()

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organization":
            kwargs["queryset"] = self._managed(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # Through the service, so the role group and the audit log follow the role.
        user = form.cleaned_data["username"] if not change else obj.user
        membership = membership_set_role(
            organization=obj.organization, user=user, role=obj.role, actor=request.user
        )
        obj.pk, obj.user = membership.pk, membership.user

    def delete_model(self, request, obj):
        membership_remove(membership=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user", "organization"):
            membership_remove(membership=membership, actor=request.user)


# --- API tokens -------------------------------------------------------------------------------
# knox's own token model is replaced by accounts.ApiToken (KNOX_TOKEN_MODEL); its admin page
# would show an unused table.
if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens: superusers see everyone's, other staff their own. Tokens are issued by
    `POST /api/auth/token` (the secret is shown once, there); here they are revoked, through
    orchestration.services.tokens, so each revocation is audited."""

    list_display = ["token_key", "name", "user", "created", "expiry"]
    search_fields = ["name", "token_key", "user__username"]
    list_select_related = ["user"]
    fields = ["token_key", "name", "user", "created", "expiry"]
    readonly_fields = fields
    actions = ["revoke"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "revoke" is the one way, audited
        return actions

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        if not self.has_module_permission(request):
            return False
        return obj is None or request.user.is_superuser or obj.user_id == request.user.pk

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    @admin.action(description="Revoke selected API tokens", permissions=["delete"])
    def revoke(self, request, queryset):
        tokens = list(queryset.select_related("user"))
        for token in tokens:
            api_token_revoke(token=token, actor=request.user, reason="admin")
        self.message_user(request, f"Revoked {len(tokens)} API token(s).", messages.SUCCESS)

    def delete_model(self, request, obj):
        api_token_revoke(token=obj, actor=request.user, reason="admin")


# --- login lockouts ---------------------------------------------------------------------------
# axes' page of failed logins (superusers, by Django's model permissions): lifting a lockout
# from here goes through orchestration.services.lockouts, so the audit log names who lifted it.
if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LoginAttemptAdmin(AccessAttemptAdmin):
    actions = ["unlock", "delete_selected"]

    @admin.action(description="Unlock: forget these failed logins", permissions=["delete"])
    def unlock(self, request, queryset):
        count = login_attempts_reset(attempts=queryset, actor=request.user)
        self.message_user(request, f"Forgot {count} failed-login record(s).", messages.SUCCESS)

    def delete_model(self, request, obj):
        login_attempts_reset(attempts=AccessAttempt.objects.filter(pk=obj.pk), actor=request.user)

    def delete_queryset(self, request, queryset):
        login_attempts_reset(attempts=queryset, actor=request.user)
