from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group

from accounts.permissions import organizations_for, users_addable_by
from accounts.roles import MANAGE_MEMBERS, VIEW_RUNS

from .models import Membership, Organization
from .services import membership_remove, membership_set_role

# Role groups (accounts.RoleGroup) are kept by accounts.role_sync: a hand edit would grant or
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
        return organizations_for(request.user, VIEW_RUNS)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or organizations_for(request.user, VIEW_RUNS).exists()

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
        addable = users_addable_by(self.adding_user)
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
        return organizations_for(request.user, MANAGE_MEMBERS)

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
