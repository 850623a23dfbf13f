from django.contrib import admin

from orchestration.models import AuditEvent
from orchestration.selectors.runs import audit_event_list

from .mixins import OrganizationScopedMixin, ReadOnlyAdminMixin, scoped_values_filter


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
        "request_id",
    ]
    list_filter = [
        scoped_values_filter("action", "action"),
        "outcome",
        ("organization", admin.RelatedOnlyFieldListFilter),
        scoped_values_filter("actor_username", "actor"),
    ]
    search_fields = ["workflow_id", "actor_username", "request_id"]
    date_hierarchy = "created_at"
    list_select_related = ["organization"]
    readonly_fields = [
        "created_at",
        "action",
        "outcome",
        "actor_username",
        "organization",
        "run",
        "workflow_id",
        "payload",
        "client_ip",
        "request_id",
    ]
    exclude = ["actor"]

    def get_queryset(self, request):
        return audit_event_list(user=request.user)
