"""Schedules in the admin: scoped like the runs, added, changed, paused, unpaused, triggered
and deleted through orchestration.services.schedules (Temporal kept in step in the same
call; nothing is saved when Temporal can't be reached), the parameters validated by the
workflow type's start serializer, as the API validates them."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from rest_framework.exceptions import ValidationError as ApiValidationError

from orchestration import authorization
from orchestration.exceptions import TemporalUnavailable
from orchestration.models import WorkflowSchedule
from orchestration.selectors.schedules import workflow_schedule_list
from orchestration.services.schedules import (
    ScheduleInvalid,
    schedule_timing_errors,
    workflow_schedule_create,
    workflow_schedule_delete,
    workflow_schedule_describe,
    workflow_schedule_set_paused,
    workflow_schedule_trigger,
    workflow_schedule_update,
)
from orchestration.workflows.registry import get_unit

from .form_errors import add_form_errors
from .mixins import OrganizationScopedMixin

SETTINGS = ["params", "cron", "interval_seconds", "paused", "overlap", "pause_on_failure"]


class ScheduleForm(forms.ModelForm):
    """Validates like the API and saves through the service: the last validation step
    (`_post_clean`) makes the change, in the database and in Temporal, so Temporal's answer
    (unreachable, refused) is a form error and nothing is saved."""

    params = forms.JSONField(
        required=False,
        initial=dict,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
        help_text="The start body of the workflow type without `organization`, as JSON "
        '(e.g. {"client": 1, "platform": "ga4"} for platform-sync).',
    )

    class Meta:
        model = WorkflowSchedule
        fields = [
            "organization",
            "workflow_type",
            "params",
            "cron",
            "interval_seconds",
            "paused",
            "overlap",
            "pause_on_failure",
        ]
        help_texts = {
            "cron": "Five fields (minute hour day-of-month month day-of-week), UTC, or @daily.",
            "interval_seconds": "Or every so many seconds (at least 10).",
        }

    request = None  # set by the admin

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "organization" in self.fields:
            startable = authorization.startable_organizations(self.request.user)
            self.fields["organization"].queryset = startable.order_by("name")
        if not self.instance._state.adding and "params" in self.fields:
            schema = get_unit(self.instance.workflow_type).start_serializer
            self.initial["params"] = schema.params_as_body(
                organization=self.instance.organization, params=self.instance.params
            )

    def clean(self):
        data = super().clean()
        organization = data.get("organization")
        if organization is None and not self.instance._state.adding:
            organization = self.instance.organization
        workflow_type = data.get("workflow_type") or self.instance.workflow_type
        for name, messages_ in schedule_timing_errors(
            cron=" ".join((data.get("cron") or "").split()),
            interval_seconds=data.get("interval_seconds"),
        ).items():
            self.add_error(name, messages_)
        if not organization or not workflow_type:
            return data
        if not authorization.may_start(self.request.user, organization, workflow_type):
            raise forms.ValidationError(
                f"Your role doesn't allow starting {workflow_type} runs in {organization}."
            )
        params = data.get("params") or {}
        if not isinstance(params, dict):
            self.add_error("params", "A JSON object.")
            return data
        try:
            data["params"] = get_unit(workflow_type).start_serializer.validated_params(
                organization=organization, body=params, context={"request": self.request}
            )
        except ApiValidationError as error:
            add_form_errors(self, error.detail, field="params")
        return data

    def _post_clean(self):
        if self.errors:
            return
        data = self.cleaned_data
        settings = {name: data[name] for name in SETTINGS if name in data}
        try:
            if not self.instance._state.adding:
                self.instance = workflow_schedule_update(
                    user=self.request.user, schedule=self.instance, changes=settings
                )
            else:
                self.instance = workflow_schedule_create(
                    user=self.request.user,
                    organization=data["organization"],
                    workflow_type=data["workflow_type"],
                    **settings,
                )
        except ScheduleInvalid as error:
            for name, messages_ in error.errors.items():
                self.add_error(name if name in self.fields else None, messages_)
        except TemporalUnavailable as error:
            self.add_error(None, f"Temporal is unavailable; nothing was saved. ({error})")
        except PermissionDenied as error:
            self.add_error(None, str(error))

    def save(self, commit=True):
        self.save_m2m = lambda: None
        return self.instance  # saved by the service in _post_clean


@admin.register(WorkflowSchedule)
class WorkflowScheduleAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    form = ScheduleForm
    list_display = [
        "schedule_display",
        "organization",
        "workflow_type",
        "timing_display",
        "paused",
        "overlap",
        "created_by",
        "runs_display",
    ]
    list_filter = ["paused", "workflow_type", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization", "created_by"]
    actions = ["pause_schedules", "unpause_schedules", "trigger_schedules", "delete_schedules"]

    def get_queryset(self, request):
        return workflow_schedule_list(user=request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def get_readonly_fields(self, request, obj=None):
        fixed = ["organization", "workflow_type"] if obj is not None else []
        shown = ["temporal_display", "recent_runs_display", "created_by", "created_at"]
        return [*fixed, *(shown if obj is not None else [])]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # delete_schedules, through the service
        return actions

    # --- permissions: starting the type is what a schedule's change needs ---------------------

    def has_add_permission(self, request):
        return self.has_module_permission(request) and bool(
            authorization.startable_types(request.user)
        )

    def has_change_permission(self, request, obj=None):
        if not self.has_module_permission(request):
            return False
        if obj is None:
            return bool(authorization.startable_types(request.user))
        return authorization.may_start(request.user, obj.organization, obj.workflow_type)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def has_schedule_permission(self, request):
        return self.has_change_permission(request)

    # --- columns and fields -----------------------------------------------------------------

    @admin.display(description="schedule")
    def schedule_display(self, schedule: WorkflowSchedule):
        return format_html("{} <code>{}</code>", schedule.workflow_type, str(schedule.pk)[:8])

    @admin.display(description="when")
    def timing_display(self, schedule: WorkflowSchedule):
        if schedule.cron:
            return format_html("<code>{}</code> (UTC)", schedule.cron)
        return f"every {schedule.interval_seconds} s"

    @admin.display(description="runs")
    def runs_display(self, schedule: WorkflowSchedule):
        url = reverse("admin:orchestration_workflowrun_changelist")
        return format_html('<a href="{}?schedule__id__exact={}">runs</a>', url, schedule.pk)

    @admin.display(description="Temporal says")
    def temporal_display(self, schedule: WorkflowSchedule):
        try:
            info = workflow_schedule_describe(schedule=schedule)
        except TemporalUnavailable:
            return "Temporal is unavailable."
        if info is None:
            return "Temporal has no such schedule: manage.py sync_schedules creates it again."
        next_times = format_html_join(
            ", ", "{}", ((f"{when:%Y-%m-%d %H:%M:%S} UTC",) for when in info.next_action_times[:5])
        )
        recent = format_html_join(
            "",
            "<li><code>{}</code> started {}</li>",
            (
                (action.workflow_id, f"{action.started_at:%Y-%m-%d %H:%M:%S} UTC")
                for action in info.recent_actions[:5]
            ),
        )
        return format_html(
            "{}<br>Next runs: {}<br>Recent actions:<ul>{}</ul>",
            "Paused." if info.paused else "Active.",
            next_times or "none",
            recent or mark_safe("<li>none</li>"),
        )

    @admin.display(description="recent runs")
    def recent_runs_display(self, schedule: WorkflowSchedule):
        runs = schedule.runs.order_by("-created_at")[:10]
        items = format_html_join(
            "",
            '<li><a href="{}">{}</a>: {}</li>',
            (
                (
                    reverse("admin:orchestration_workflowrun_change", args=[run.pk]),
                    run.workflow_id,
                    run.get_status_display(),
                )
                for run in runs
            ),
        )
        return format_html("<ul>{}</ul>", items) if items else "none yet"

    def save_model(self, request, obj, form, change):
        pass  # the form saved it through the service

    def delete_model(self, request, obj):
        workflow_schedule_delete(user=request.user, schedule=obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except TemporalUnavailable as error:
            self.message_user(
                request, f"Temporal is unavailable; nothing was deleted. ({error})", messages.ERROR
            )
            return HttpResponseRedirect(request.path)

    # --- actions, each through the service ----------------------------------------------------

    def _each(self, request, queryset, done: str, service, **kwargs):
        succeeded, failed = 0, []
        for schedule in queryset:
            try:
                service(user=request.user, schedule=schedule, **kwargs)
                succeeded += 1
            except PermissionDenied:
                failed.append(f"{schedule}: your role doesn't allow it")
            except TemporalUnavailable:
                failed.append(f"{schedule}: Temporal is unavailable")
        if succeeded:
            self.message_user(request, f"{succeeded} schedule(s) {done}.", messages.SUCCESS)
        if failed:
            self.message_user(request, "Not done: " + "; ".join(failed), messages.ERROR)

    @admin.action(description="Pause the selected schedules", permissions=["schedule"])
    def pause_schedules(self, request, queryset):
        self._each(request, queryset, "paused", workflow_schedule_set_paused, paused=True)

    @admin.action(description="Unpause the selected schedules", permissions=["schedule"])
    def unpause_schedules(self, request, queryset):
        self._each(request, queryset, "unpaused", workflow_schedule_set_paused, paused=False)

    @admin.action(description="Trigger the selected schedules now", permissions=["schedule"])
    def trigger_schedules(self, request, queryset):
        self._each(request, queryset, "triggered", workflow_schedule_trigger)

    @admin.action(description="Delete the selected schedules", permissions=["schedule"])
    def delete_schedules(self, request, queryset):
        # Django's confirmation page; once confirmed, each schedule through the service, and
        # a message that counts what was deleted (Django's would count what was selected).
        if request.POST.get("post"):
            self._each(request, queryset, "deleted", workflow_schedule_delete)
            return None
        return delete_selected(self, request, queryset)
