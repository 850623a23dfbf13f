import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from rest_framework.exceptions import ValidationError as DRFValidationError

from accounts.permissions import organizations_for
from accounts.roles import (
    MANAGE_RUNS,
    RUN_SENSITIVE_WORKFLOWS,
    RUN_STANDARD_WORKFLOWS,
    WORKFLOW_PERMISSIONS,
)
from orchestration.api.serializers import WorkflowRunSerializer, validated_retry_params
from orchestration.exceptions import RunStateConflict, TemporalUnavailable
from orchestration.models import WorkflowRun
from orchestration.selectors.runs import workflow_run_list
from orchestration.services.runs import (
    workflow_run_cancel,
    workflow_run_refresh,
    workflow_run_retry,
    workflow_run_start,
    workflow_run_terminate,
)
from orchestration.temporal.bridge import WorkflowNotFound, get_bridge
from orchestration.temporal.shared import WorkflowType

from .mixins import OrganizationScopedMixin, ReadOnlyAdminMixin
from .start_forms import START_FORMS

# What a per-row action can run into; each becomes that row's error message.
ROW_ERRORS = (
    RunStateConflict,
    TemporalUnavailable,
    PermissionDenied,
    DRFValidationError,
    ValueError,
)


def _json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@admin.register(WorkflowRun)
class WorkflowRunAdmin(OrganizationScopedMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "workflow_id",
        "organization",
        "workflow_type",
        "status_badge",
        "current_step",
        "started_by",
        "started_at",
        "closed_at",
        "duration_display",
    ]
    list_filter = [
        "status",
        "workflow_type",
        "retrying",
        ("organization", admin.RelatedOnlyFieldListFilter),
        ("started_by", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["workflow_id", "run_id", "started_by__username"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "started_by"]
    actions = ["cancel_runs", "terminate_runs", "retry_runs", "refresh_runs"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "workflow_id",
                    "run_id",
                    "organization",
                    "workflow_type",
                    "status_badge",
                    "current_step",
                    "steps_done",
                    "retry_of",
                ]
            },
        ),
        (
            "Who and when",
            {
                "fields": [
                    "started_by",
                    "created_at",
                    "started_at",
                    "closed_at",
                    "duration_display",
                    "cancel_requested_by",
                    "cancel_requested_at",
                ]
            },
        ),
        ("Input and outcome", {"fields": ["input_json", "result_json", "error", "failure"]}),
    ]
    # Everything is shown read-only: runs change through services, never through a form.
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]

    def get_queryset(self, request):
        return workflow_run_list(user=request.user)

    # --- columns ------------------------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_badge(self, run: WorkflowRun):
        retrying = (
            format_html(
                ' <span class="run-badge retrying" title="{}">retrying</span>', run.last_failure
            )
            if run.retrying and run.status == WorkflowRun.Status.RUNNING
            else ""
        )
        return format_html(
            '<span class="run-status status-{}">{}</span>{}',
            run.status.lower(),
            run.get_status_display(),
            retrying,
        )

    @admin.display(description="duration")
    def duration_display(self, run: WorkflowRun) -> str:
        duration = run.duration
        return f"{duration.total_seconds():.1f} s" if duration else "-"

    @admin.display(description="input")
    def input_json(self, run: WorkflowRun):
        return format_html("<pre>{}</pre>", _json(run.input))

    @admin.display(description="result")
    def result_json(self, run: WorkflowRun):
        return format_html("<pre>{}</pre>", _json(run.result)) if run.result is not None else "-"

    @admin.display(description="last activity failure")
    def failure(self, run: WorkflowRun) -> str:
        if not run.last_failure:
            return "-"
        return f"{run.last_failure_activity} attempt {run.last_failure_attempt}: {run.last_failure}"

    # --- permissions for actions ----------------------------------------------------------

    def _holds_any(self, request, *codenames: str) -> bool:
        user = request.user
        return user.is_superuser or any(organizations_for(user, c).exists() for c in codenames)

    def has_cancel_permission(self, request):
        return self._holds_any(request, RUN_STANDARD_WORKFLOWS, RUN_SENSITIVE_WORKFLOWS)

    def has_manage_permission(self, request):
        return self._holds_any(request, MANAGE_RUNS)

    # --- actions, each behind a confirmation page -----------------------------------------

    def _confirmed(self, request, queryset, *, verb: str, perform, needs_reason: bool = False):
        if not queryset.exists():
            self.message_user(
                request, "None of the selected runs is yours to act on.", messages.WARNING
            )
            return None
        reason = request.POST.get("reason", "").strip()
        error = ""
        if request.POST.get("post") == "yes":
            if needs_reason and not reason:
                error = "A reason is required."
            else:
                for run in queryset:
                    try:
                        outcome = perform(run, reason)
                    except ROW_ERRORS as failure:
                        detail = getattr(failure, "detail", failure)
                        self.message_user(request, f"Run {run}: {detail}", messages.ERROR)
                    else:
                        self.message_user(request, f"Run {run}: {outcome}", messages.SUCCESS)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb.capitalize()} runs",
            "verb": verb,
            "opts": self.model._meta,
            "queryset": queryset,
            "action": request.POST.get("action", ""),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "needs_reason": needs_reason,
            "reason": reason,
            "error": error,
        }
        return TemplateResponse(
            request, "admin/orchestration/workflowrun/confirm_action.html", context
        )

    @admin.action(description="Cancel selected runs", permissions=["cancel"])
    def cancel_runs(self, request, queryset):
        def cancel(run, reason):
            workflow_run_cancel(user=request.user, run=run)
            return "cancellation requested."

        return self._confirmed(request, queryset, verb="cancel", perform=cancel)

    @admin.action(description="Terminate selected runs", permissions=["manage"])
    def terminate_runs(self, request, queryset):
        def terminate(run, reason):
            workflow_run_terminate(user=request.user, run=run, reason=reason)
            return "terminated."

        return self._confirmed(
            request, queryset, verb="terminate", perform=terminate, needs_reason=True
        )

    @admin.action(description="Retry selected runs with the same input", permissions=["manage"])
    def retry_runs(self, request, queryset):
        def retry(run, reason):
            params = validated_retry_params(run=run, overrides={}, context={"request": request})
            new_run = workflow_run_retry(user=request.user, run=run, params=params)
            return f"retried as {new_run.workflow_id} ({new_run.get_status_display()})."

        return self._confirmed(request, queryset, verb="retry", perform=retry)

    @admin.action(description="Refresh status from Temporal", permissions=["manage"])
    def refresh_runs(self, request, queryset):
        def refresh(run, reason):
            status = workflow_run_refresh(user=request.user, run=run)
            return f"now {status}." if status else "already up to date."

        return self._confirmed(request, queryset, verb="refresh", perform=refresh)

    # --- start pages --------------------------------------------------------------------

    def get_urls(self):
        start = path(
            "start/<str:workflow_type>/",
            self.admin_site.admin_view(self.start_view),
            name="orchestration_workflowrun_start",
        )
        return [start, *super().get_urls()]

    def startable_types(self, request) -> list[str]:
        return [
            workflow_type
            for workflow_type in WorkflowType
            if request.user.is_superuser
            or organizations_for(request.user, WORKFLOW_PERMISSIONS[workflow_type]).exists()
        ]

    def start_view(self, request, workflow_type: str):
        if workflow_type not in START_FORMS:
            raise Http404("No such workflow type.")
        if workflow_type not in self.startable_types(request):
            raise PermissionDenied
        form_class = START_FORMS[workflow_type]
        form = form_class(request.POST or None, request=request)
        if request.method == "POST" and form.is_valid():
            serializer = form.validated_serializer
            try:
                run, _ = workflow_run_start(
                    user=request.user,
                    organization=serializer.validated_data["organization"],
                    workflow_type=workflow_type,
                    params=serializer.workflow_params(),
                )
            except TemporalUnavailable as error:
                form.add_error(
                    None,
                    f"Temporal is unavailable; the run was recorded as failed to start. {error}",
                )
            else:
                self.message_user(request, f"Started {run.workflow_id}.", messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:orchestration_workflowrun_change", args=[run.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Start {workflow_type.replace('-', ' ')}",
            "opts": self.model._meta,
            "form": form,
            "workflow_type": workflow_type,
        }
        return TemplateResponse(request, "admin/orchestration/workflowrun/start.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "startable_types": self.startable_types(request)}
        return super().changelist_view(request, extra_context)

    # --- the run's page -----------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        if run is None:
            raise Http404("No such run.")  # another organization's run isn't revealed
        extra_context = {**(extra_context or {}), **self._temporal_context(run)}
        extra_context["retries"] = run.retries.select_related("started_by")
        extra_context["audit_events"] = run.audit_events.order_by("created_at", "id")
        extra_context["temporal_ui_url"] = WorkflowRunSerializer().get_temporal_ui_url(run)
        return super().change_view(request, object_id, form_url, extra_context)

    def _temporal_context(self, run: WorkflowRun) -> dict:
        if run.status == WorkflowRun.Status.START_FAILED:
            return {"history": [], "pending_activities": []}
        bridge = get_bridge()
        try:
            pending = (
                list(bridge.describe(run.workflow_id).pending_activities)
                if run.status == WorkflowRun.Status.RUNNING
                else []
            )
            history = bridge.history_page(run.workflow_id, page_size=200).events
        except (TemporalUnavailable, WorkflowNotFound) as error:
            return {"temporal_error": str(error), "history": [], "pending_activities": []}
        return {"history": history, "pending_activities": pending}
