"""The run list and the run page: scoped to the user's organizations, following open runs live
(the list polls a small fragment, a run page follows a server-sent-events stream), with the
same confirmed actions in bulk and on the run page."""

import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from importlib import import_module

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import admin, auth, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections, connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache

from orchestration import authorization
from orchestration.exceptions import DATABASE_ERRORS, TemporalUnavailable
from orchestration.models import WorkflowRun
from orchestration.selectors.overview import WINDOWS
from orchestration.selectors.run_cockpit import (
    RunCockpit,
    live_version,
    run_cockpit,
    visible_run,
)
from orchestration.selectors.runs import (
    run_filter_choices,
    workflow_id_prefix,
    workflow_run_list,
)
from orchestration.services.runs import workflow_run_start
from orchestration.templatetags.console import duration
from orchestration.temporal.bridge import WorkflowNotFound, get_bridge
from orchestration.temporal.ui import workflow_ui_url
from orchestration.workflows.registry import UNITS

from .form_errors import error_text
from .mixins import OrganizationScopedMixin, ReadOnlyAdminMixin, choices_filter
from .run_actions import ACTION_ERRORS, RUN_ACTIONS, RunAction, actions_for
from .run_feed import Snapshot, run_feed, server_sent_event
from .start_forms import start_form_class

logger = logging.getLogger(__name__)
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore

# htmx stops polling when a fragment answers 286.
STOP_POLLING = 286
LIVE_TEMPLATE = "admin/orchestration/workflowrun/run_live.html"
STREAM_RECHECK_SECONDS = 30
STREAM_MAX_SECONDS = 600
# The run list follows at most one page of open runs.
MAX_LIVE_RUNS = 200
RAW_EVENTS_PAGE_SIZE = 50


def _for_stream(fn):
    """`fn` as a stream calls it: in a thread, its database connection handed back after it.
    A stream outlives its request by up to `STREAM_MAX_SECONDS` (Django hands the request's
    connections back when the response ends); with PostgreSQL's pool, a connection held per
    open page would empty it."""

    def call(*args):
        try:
            return fn(*args)
        finally:
            if not connection.in_atomic_block:  # never in the middle of a transaction
                close_old_connections()

    return sync_to_async(call)


def _json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _when(moment) -> str:
    if moment is None:
        return "-"
    local = timezone.localtime(moment)
    return format_html(
        '<time datetime="{}">{}</time>', local.isoformat(), f"{local:%b %d, %H:%M:%S}"
    )


# --- the cells of the run list that follow a run live ------------------------------------------
def _status_cell(run: WorkflowRun) -> str:
    markers = []
    if run.retrying and run.status == WorkflowRun.Status.RUNNING:
        markers.append(
            format_html(
                '<span class="run-badge retrying" title="{}">retrying</span>', run.last_failure
            )
        )
    if run.cancel_requested_at and not run.is_terminal:
        markers.append(
            format_html(
                '<span class="run-badge cancel-requested" title="by {} at {}">cancel requested'
                "</span>",
                run.cancel_requested_by or "-",
                run.cancel_requested_at,
            )
        )
    return format_html(
        '<span class="run-status status-{}">{}</span>{}',
        run.status.lower(),
        run.get_status_display(),
        format_html_join("", " {}", ((marker,) for marker in markers)),
    )


def _step_cell(run: WorkflowRun) -> str:
    return "" if run.is_terminal else run.current_step


def _duration_cell(run: WorkflowRun) -> str:
    return duration(run.duration)


def _error_cell(run: WorkflowRun) -> str:
    message = run.error or (run.last_failure if run.retrying else "")
    first_line = message.strip().splitlines()[0] if message.strip() else ""
    return format_html('<span class="run-error" title="{}">{}</span>', message, first_line)


LIVE_CELLS = {
    "status": _status_cell,
    "step": _step_cell,
    "duration": _duration_cell,
    "error": _error_cell,
}


def _cell(run: WorkflowRun, name: str, *, oob: bool = False) -> str:
    return format_html(
        '<span id="run-{}-{}"{}>{}</span>',
        run.pk,
        name,
        mark_safe(' hx-swap-oob="true"') if oob else "",
        LIVE_CELLS[name](run),
    )


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
class WorkflowRunAdmin(OrganizationScopedMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
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
        return _cell(run, "status")

    @admin.display(description="current step")
    def step_display(self, run: WorkflowRun):
        return _cell(run, "step")

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
        return _when(run.created_at)

    @admin.display(description="duration")
    def duration_display(self, run: WorkflowRun):
        return _cell(run, "duration")

    @admin.display(description="error")
    def error_display(self, run: WorkflowRun):
        return _cell(run, "error")

    @admin.display(description="input")
    def input_json(self, run: WorkflowRun):
        return format_html("<pre>{}</pre>", _json(run.input))

    # --- permissions for actions ----------------------------------------------------------

    def has_cancel_permission(self, request):
        return authorization.cancels_somewhere(request.user)

    def has_manage_permission(self, request):
        return authorization.manages_somewhere(request.user)

    # --- actions, each behind a confirmation page -----------------------------------------

    def _confirmed(self, request, runs: list[WorkflowRun], action: RunAction, *, back_url: str):
        """The confirmation page for `action` on `runs`, or, once confirmed, the action done on
        each run the user may act on (the others are named, not touched). Returns the page,
        or the outcomes once done (the caller redirects)."""
        allowed = [run for run in runs if action.allowed(request.user, run)]
        skipped = [run for run in runs if run not in allowed]
        if not allowed:
            which = "this run" if len(runs) == 1 else "any of the selected runs"
            self.message_user(
                request,
                f"You may not {action.verb} {which}: your role or its state doesn't allow it.",
                messages.WARNING,
            )
            return []
        reason = request.POST.get("reason", "").strip()
        error = ""
        if request.POST.get("post") == "yes":
            if action.needs_reason and not reason:
                error = "A reason is required."
            else:
                outcomes = []
                for run in allowed:
                    try:
                        outcome = action.perform(request, run, reason)
                    except ACTION_ERRORS as failure:
                        self.message_user(
                            request, f"Run {run}: {error_text(failure)}", messages.ERROR
                        )
                    else:
                        outcomes.append(outcome)
                        self.message_user(
                            request, f"Run {run}: {outcome.message}", messages.SUCCESS
                        )
                if skipped:
                    self.message_user(
                        request,
                        f"Left alone (your role or their state doesn't allow {action.verb}): "
                        + ", ".join(str(run) for run in skipped),
                        messages.WARNING,
                    )
                return outcomes
        context = {
            **self.admin_site.each_context(request),
            "title": f"{action.verb.capitalize()} runs",
            "verb": action.verb,
            "opts": self.model._meta,
            "runs": allowed,
            "skipped": skipped,
            "action": request.POST.get("action", ""),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "needs_reason": action.needs_reason,
            "reason": reason,
            "error": error,
            "back_url": back_url,
        }
        return TemplateResponse(
            request, "admin/orchestration/workflowrun/confirm_action.html", context
        )

    def _bulk(self, request, queryset, verb: str):
        changelist = reverse("admin:orchestration_workflowrun_changelist")
        runs = list(queryset.select_related("organization", "cancel_requested_by"))
        page = self._confirmed(request, runs, RUN_ACTIONS[verb], back_url=changelist)
        return page if isinstance(page, TemplateResponse) else None

    @admin.action(description=RUN_ACTIONS["cancel"].description, permissions=["cancel"])
    def cancel_runs(self, request, queryset):
        return self._bulk(request, queryset, "cancel")

    @admin.action(description=RUN_ACTIONS["terminate"].description, permissions=["manage"])
    def terminate_runs(self, request, queryset):
        return self._bulk(request, queryset, "terminate")

    @admin.action(description=RUN_ACTIONS["retry"].description, permissions=["manage"])
    def retry_runs(self, request, queryset):
        return self._bulk(request, queryset, "retry")

    @admin.action(description=RUN_ACTIONS["refresh"].description, permissions=["manage"])
    def refresh_runs(self, request, queryset):
        return self._bulk(request, queryset, "refresh")

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

    # --- start pages --------------------------------------------------------------------

    def start_view(self, request, workflow_type: str):
        if workflow_type not in UNITS:
            raise Http404("No such workflow type.")
        if workflow_type not in authorization.startable_types(request.user):
            raise PermissionDenied
        unit = UNITS[workflow_type]
        form = start_form_class(unit)(request.POST or None, request=request)
        if request.method == "POST" and form.is_valid():
            try:
                run, _ = workflow_run_start(
                    user=request.user,
                    organization=form.cleaned_data["organization"],
                    workflow_type=workflow_type,
                    params=form.params,
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
            "title": f"Start {unit.label.lower()}",
            "description": unit.definition.description,
            "opts": self.model._meta,
            "form": form,
            "workflow_type": workflow_type,
        }
        return TemplateResponse(request, "admin/orchestration/workflowrun/start.html", context)

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
            "", "{}", ((_cell(run, name, oob=True),) for run in runs for name in LIVE_CELLS)
        )
        still_open = any(not run.is_terminal for run in runs)
        return HttpResponse(cells, status=200 if still_open else STOP_POLLING)

    # --- the run page -------------------------------------------------------------------

    def _run_or_404(self, request, object_id) -> WorkflowRun:
        run = self.get_object(request, str(object_id))
        if run is None:
            raise Http404("No such run.")  # another organization's run isn't revealed
        return run

    def _live_context(self, request, run: WorkflowRun, cockpit: RunCockpit | None = None) -> dict:
        cockpit = cockpit or run_cockpit(run=run)
        return {
            "run": run,
            "cockpit": cockpit,
            "live_version": live_version(cockpit),
            "actions": [
                {"verb": action.verb, "label": action.button_label(run)}
                for action in actions_for(request.user, run)
            ],
            "audit_events": run.audit_events.order_by("created_at", "id"),
            "records": [
                {
                    "kind": item.kind,
                    "record": item.record,
                    "detail": item.detail,
                    "url": reverse(
                        f"admin:{item.record._meta.app_label}_{item.record._meta.model_name}_change",
                        args=[item.record.pk],
                    ),
                }
                for item in UNITS[run.workflow_type].records(run)
            ],
            "opts": self.model._meta,
            "status_html": _status_cell(run),
            "result_json": _json(run.result) if run.result is not None else None,
            "result_tables": UNITS[run.workflow_type].result_tables(run),
            "temporal_ui_url": workflow_ui_url(run.workflow_id),
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self._run_or_404(request, object_id)
        extra_context = {
            **(extra_context or {}),
            **self._live_context(request, run),
            "retries": run.retries.select_related("started_by"),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _followed_run(self, request, object_id) -> WorkflowRun:
        """The run a page follows, if its viewer may see it: 403 for someone whose session
        ended or who may see no runs at all (htmx leaves a 403 unswapped), 404 for another
        organization's run (not revealed). The run and the permission in one query."""
        if not self.admin_site.has_permission(request):
            raise PermissionDenied
        run = visible_run(user=request.user, pk=object_id)
        if run is None:
            if not self.has_view_permission(request):
                raise PermissionDenied
            raise Http404("No such run.")
        request.quiet_access_log = True  # one line per page opened, not per tick
        return run

    def _still_following(self, request, object_id) -> bool:
        """Whether the stream's viewer is still signed in and may still see the run: sessions
        end (logout, expiry, a password change) and roles change. The session is read afresh
        and the user as the next request would read it (`auth.get_user`: the session's user
        and its password hash), so the page's next region is rendered for what they hold now
        (what a user holds is kept on the user object)."""
        request.session = SessionStore(request.session.session_key)
        request.user = auth.get_user(request)
        try:
            self._followed_run(request, object_id)
        except (PermissionDenied, Http404):
            return False
        return True

    def _region_html(self, request, snapshot: Snapshot) -> str:
        context = self._live_context(request, snapshot.run, snapshot.cockpit)
        return render_to_string(LIVE_TEMPLATE, context, request=request).strip()

    async def stream_view(self, request, object_id) -> StreamingHttpResponse:
        """The run page's live feed (`run_feed`), as server-sent events: `tick` (the progress
        and running durations, swapped out of band) while the run's version is the one the
        page shows (`?v=`), `region` (the whole live region, for this viewer) when it changed,
        and `end` once the run is terminal (after its last region), gone, or no longer the
        viewer's to see (checked again every `STREAM_RECHECK_SECONDS`): the page then stops.
        A stream also ends after `STREAM_MAX_SECONDS` (the browser opens the next one) and on
        a database error (the browser tries again)."""
        await _for_stream(self._followed_run)(request, object_id)

        async def events() -> AsyncIterator[str]:
            version = request.GET.get("v", "")
            opened = checked = time.monotonic()
            yield "retry: 1000\n\n"  # the browser's reconnection delay
            try:
                async with contextlib.aclosing(run_feed(object_id).follow()) as snapshots:
                    async for snapshot in snapshots:
                        if time.monotonic() - checked > STREAM_RECHECK_SECONDS:
                            if not await _for_stream(self._still_following)(request, object_id):
                                break
                            checked = time.monotonic()
                        if snapshot.version == version and not snapshot.terminal:
                            yield server_sent_event("tick", snapshot.tick_html)
                        else:
                            html = await _for_stream(self._region_html)(request, snapshot)
                            version = snapshot.version
                            yield server_sent_event("region", html)
                        if snapshot.terminal:
                            break
                        if time.monotonic() - opened > STREAM_MAX_SECONDS:
                            return
            except DATABASE_ERRORS as error:
                logger.warning("run stream ended by a database error: %s", error)
                return
            yield server_sent_event("end", "")

        return StreamingHttpResponse(
            events(),
            content_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    def raw_events_view(self, request: HttpRequest, object_id) -> HttpResponse:
        """A page of the run's raw Temporal events, for the run page's toggle."""
        run = self._run_or_404(request, object_id)
        context = {"run": run, "opts": self.model._meta}
        try:
            page = get_bridge().history_page(
                run.workflow_id,
                page_size=RAW_EVENTS_PAGE_SIZE,
                cursor=request.GET.get("page_token", ""),
            )
        except ValueError:
            return HttpResponse("page_token: not a token this page gave out.", status=400)
        except (TemporalUnavailable, WorkflowNotFound) as error:
            context["temporal_error"] = str(error)
        else:
            context |= {"events": page.events, "next_token": page.next_cursor}
        return TemplateResponse(request, "admin/orchestration/workflowrun/raw_events.html", context)

    def run_action_view(self, request: HttpRequest, object_id, verb: str):
        """One action on one run from its page: the same confirmation, service call and audit
        event as the list's bulk action; then back to the run (or to a retry's new run)."""
        action = RUN_ACTIONS.get(verb)
        if action is None:
            raise Http404("No such action.")
        run = self._run_or_404(request, object_id)
        run_url = reverse("admin:orchestration_workflowrun_change", args=[run.pk])
        page = self._confirmed(request, [run], action, back_url=run_url)
        if isinstance(page, TemplateResponse):
            return page
        next_run = page[-1].run if page else run
        return HttpResponseRedirect(
            reverse("admin:orchestration_workflowrun_change", args=[next_run.pk])
        )
