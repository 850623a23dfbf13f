"""The run list: scoped to the user's organizations, its open runs followed live (the list
polls a small fragment of their cells), with bulk actions behind a confirmation page. The run
page (`run_page`), the confirmed actions (`run_confirmation`) and the start pages
(`start_page`) are rooms of their own, mixed into the one ModelAdmin."""

import uuid

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache

from orchestration import authorization
from orchestration.models import WorkflowRun
from orchestration.selectors.overview import WINDOWS
from orchestration.selectors.runs import (
    run_filter_choices,
    workflow_id_prefix,
    workflow_run_list,
)
from orchestration.workflows.registry import UNITS

from .mixins import OrganizationScopedMixin, ReadOnlyAdminMixin, choices_filter
from .run_cells import LIVE_CELLS, json_block, live_cell, when
from .run_confirmation import ConfirmedRunActionsMixin
from .run_page import RunPageMixin
from .start_page import StartPageMixin

# htmx stops polling when a fragment answers 286.
STOP_POLLING = 286
# The run list follows at most one page of open runs.
MAX_LIVE_RUNS = 200


class CreatedWithinFilter(admin.SimpleListFilter):
    """Runs created in the last 24 hours or 7 days (the overview's windows link here)."""

    title = "created within"
    parameter_name = "within"

    def lookups(self, request, model_admin):
        return [("24h", "the last 24 hours"), ("7d", "the last 7 days")]

    def queryset(self, request, queryset):
        window = WINDOWS.get(self.value() or "")
        return queryset.filter(created_at__gte=timezone.now() - window) if window else queryset


@admin.register(WorkflowRun)
class WorkflowRunAdmin(
    RunPageMixin,
    ConfirmedRunActionsMixin,
    StartPageMixin,
    OrganizationScopedMixin,
    ReadOnlyAdminMixin,
    admin.ModelAdmin,
):
    list_display = [
        "run_display",
        "organization",
        "status_badge",
        "step_display",
        "started_by_display",
        "created_display",
        "duration_display",
        "error_display",
    ]
    list_display_links = ["run_display"]
    list_filter = [
        "status",
        CreatedWithinFilter,
        "workflow_type",
        "retrying",
        (
            "organization",
            choices_filter(lambda request: run_filter_choices(request.user, "organization")),
        ),
        (
            "started_by",
            choices_filter(lambda request: run_filter_choices(request.user, "started_by")),
        ),
        ("schedule", choices_filter(lambda request: run_filter_choices(request.user, "schedule"))),
    ]
    # A workflow-id prefix (or a whole id), which the index answers: a substring search read
    # every run (get_search_results). No date hierarchy: its links aggregate the dates of every
    # listed run on each page (seconds at a million runs); "created within" filters by time.
    search_fields = ["workflow_id"]
    search_help_text = "A workflow id, or its beginning (case-sensitive), e.g. client-onboarding-"
    # "N results (M total)" counted the whole table again on every page.
    show_full_result_count = False
    list_select_related = ["organization", "started_by", "cancel_requested_by"]
    actions = ["cancel_runs", "terminate_runs", "retry_runs", "refresh_runs"]
    fieldsets = [
        (
            "Run",
            {"fields": ["workflow_id", "run_id", "organization", "workflow_type", "retry_of"]},
        ),
        # The outcome (result, error) is in the page's live region, which follows the run.
        ("Input", {"fields": ["input_json"]}),
    ]
    # Everything is shown read-only: runs change through services, never through a form.
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]

    def get_queryset(self, request):
        return workflow_run_list(user=request.user)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(workflow_id_prefix(term)), False

    def lookup_allowed(self, lookup, value, request=None):
        # The date hierarchy is gone: its old links (?created_at__year=) are a 400 rather than
        # a query of their own (year 0 would be a 500).
        if lookup.startswith("created_at__"):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_actions(self, request):
        # Django offers actions only when the unfiltered list has rows, from the full count
        # that show_full_result_count = False no longer makes: ask whether there is one row.
        if not self.get_queryset(request).exists():
            return {}
        return super().get_actions(request)

    def get_list_display(self, request):
        # A member of one organization needn't read its name on every row.
        if authorization.visible_organizations(request.user)[:2].count() < 2:
            return [name for name in self.list_display if name != "organization"]
        return self.list_display

    # --- columns ------------------------------------------------------------------------

    @admin.display(description="run", ordering="workflow_id")
    def run_display(self, run: WorkflowRun):
        short_id = str(run.pk)[:8]
        return format_html(
            '<span class="run-id" title="{}">{} <code>{}</code></span>'
            '<button type="button" class="copy-id" data-copy="{}" title="Copy {}">copy</button>',
            run.workflow_id,
            run.workflow_type,
            short_id,
            run.workflow_id,
            run.workflow_id,
        )

    @admin.display(description="status", ordering="status")
    def status_badge(self, run: WorkflowRun):
        return live_cell(run, "status")

    @admin.display(description="current step")
    def step_display(self, run: WorkflowRun):
        return live_cell(run, "step")

    @admin.display(description="started by", ordering="started_by__username")
    def started_by_display(self, run: WorkflowRun):
        # A manager can't open the user admin; the runs that user started are what they want.
        if run.schedule_id is not None:
            return format_html(
                '<a href="{}" title="Started by this schedule">schedule <code>{}</code></a>',
                reverse("admin:orchestration_workflowschedule_change", args=[run.schedule_id]),
                str(run.schedule_id)[:8],
            )
        if run.started_by is None:
            return "-"
        query = urlencode({"started_by__id__exact": run.started_by_id})
        return format_html(
            '<a href="{}?{}" title="Runs started by {}">{}</a>',
            reverse("admin:orchestration_workflowrun_changelist"),
            query,
            run.started_by,
            run.started_by,
        )

    @admin.display(description="created", ordering="created_at")
    def created_display(self, run: WorkflowRun):
        return when(run.created_at)

    @admin.display(description="duration")
    def duration_display(self, run: WorkflowRun):
        return live_cell(run, "duration")

    @admin.display(description="error")
    def error_display(self, run: WorkflowRun):
        return live_cell(run, "error")

    @admin.display(description="input")
    def input_json(self, run: WorkflowRun):
        return format_html("<pre>{}</pre>", json_block(run.input))

    # --- urls ---------------------------------------------------------------------------

    def get_urls(self):
        def view(fn):
            return self.admin_site.admin_view(fn)

        return [
            path(
                "start/<str:workflow_type>/",
                view(self.start_view),
                name="orchestration_workflowrun_start",
            ),
            path(
                "live/",
                self._fragment(self.live_list_view),
                name="orchestration_workflowrun_live_list",
            ),
            # Not through admin_view (a sync wrapper): the stream is an async response that
            # checks its viewer itself, as admin_view and the fragments do.
            path(
                "<uuid:object_id>/stream/",
                self.stream_view,
                name="orchestration_workflowrun_stream",
            ),
            path(
                "<uuid:object_id>/events/",
                self._fragment(self.raw_events_view),
                name="orchestration_workflowrun_events",
            ),
            path(
                "<uuid:object_id>/act/<str:verb>/",
                view(self.run_action_view),
                name="orchestration_workflowrun_act",
            ),
            *super().get_urls(),
        ]

    def _fragment(self, fn):
        """Fragments are asked for by a page already open: someone whose session ended gets a
        403 (which htmx leaves unswapped), not a login page pasted into the page."""

        def wrapped(request, *args, **kwargs):
            if not self.admin_site.has_permission(request) or not self.has_view_permission(request):
                raise PermissionDenied
            request.quiet_access_log = True  # one line a second per viewer is noise
            return fn(request, *args, **kwargs)

        return never_cache(wrapped)

    # --- the run list -------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        startable = [UNITS[name] for name in authorization.startable_types(request.user)]
        extra_context = {**(extra_context or {}), "startable_units": startable}
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # The page's open runs, for the live poller; evaluating the page here fills the
            # queryset's cache, so the table costs no second query.
            response.context_data["live_run_ids"] = ",".join(
                str(run.pk) for run in changelist.result_list if not run.is_terminal
            )
        return response

    def live_list_view(self, request: HttpRequest) -> HttpResponse:
        """The live cells of the listed open runs, as out-of-band swaps: one query whatever
        the number of runs. Answers 286 (stop) once none of them is open."""
        try:
            ids = [uuid.UUID(value) for value in request.GET.get("ids", "").split(",") if value]
        except ValueError:
            return HttpResponse("ids: run ids separated by commas.", status=400)
        runs = list(self.get_queryset(request).filter(pk__in=ids[:MAX_LIVE_RUNS]).order_by())
        cells = format_html_join(
            "", "{}", ((live_cell(run, name, oob=True),) for run in runs for name in LIVE_CELLS)
        )
        still_open = any(not run.is_terminal for run in runs)
        return HttpResponse(cells, status=200 if still_open else STOP_POLLING)
