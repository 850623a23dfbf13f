from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from accounts.permissions import organizations_for
from accounts.roles import RUN_SENSITIVE_WORKFLOWS, RUN_STANDARD_WORKFLOWS, VIEW_RUNS
from orchestration.exceptions import RunStateConflict, TemporalUnavailable
from orchestration.selectors.runs import audit_event_list, workflow_run_list
from orchestration.services.runs import workflow_run_cancel

from .models import AuditEvent, WorkflowRun


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrganizationScopedMixin:
    """Staff see their organizations' rows; the selector decides which."""

    def has_module_permission(self, request):
        return (
            request.user.is_active
            and request.user.is_staff
            and (request.user.is_superuser or organizations_for(request.user, VIEW_RUNS).exists())
        )

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


@admin.register(WorkflowRun)
class WorkflowRunAdmin(OrganizationScopedMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "workflow_id",
        "organization",
        "workflow_type",
        "status",
        "current_step",
        "started_by",
        "started_at",
        "closed_at",
        "duration",
    ]
    list_filter = ["status", "workflow_type", "organization"]
    search_fields = ["workflow_id", "run_id"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "started_by"]
    actions = ["cancel_runs"]

    def get_queryset(self, request):
        return workflow_run_list(user=request.user)

    def has_cancel_permission(self, request):
        user = request.user
        return user.is_superuser or any(
            organizations_for(user, codename).exists()
            for codename in (RUN_STANDARD_WORKFLOWS, RUN_SENSITIVE_WORKFLOWS)
        )

    @admin.action(description="Cancel selected runs", permissions=["cancel"])
    def cancel_runs(self, request, queryset):
        for run in queryset:
            try:
                workflow_run_cancel(user=request.user, run=run)
            except (RunStateConflict, TemporalUnavailable, PermissionDenied) as error:
                self.message_user(request, f"{run}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{run}: cancellation requested.", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(OrganizationScopedMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit log is read-only for everyone, superusers included."""

    list_display = [
        "created_at",
        "action",
        "outcome",
        "actor_username",
        "organization",
        "workflow_id",
    ]
    list_filter = ["action", "outcome", "organization"]
    search_fields = ["workflow_id", "actor_username", "request_id"]
    date_hierarchy = "created_at"
    list_select_related = ["organization"]

    def get_queryset(self, request):
        return audit_event_list(user=request.user)
