"""The run page: the run's live region (its cockpit, records, audit events and actions),
followed over one server-sent-events stream (`run_feed`), and a pager of its raw Temporal
events."""

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from importlib import import_module

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import auth
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections, connection
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse

from orchestration.exceptions import DATABASE_ERRORS, TemporalUnavailable
from orchestration.models import WorkflowRun
from orchestration.selectors.runs import visible_run
from orchestration.temporal.bridge import WorkflowNotFound, get_bridge
from orchestration.temporal.ui import workflow_ui_url
from orchestration.workflows.registry import UNITS

from .cockpit import RunCockpit, live_version, run_cockpit
from .run_actions import actions_for
from .run_cells import json_block, status_html
from .run_feed import Snapshot, run_feed, server_sent_event

logger = logging.getLogger(__name__)
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore

LIVE_TEMPLATE = "admin/orchestration/workflowrun/run_live.html"
STREAM_RECHECK_SECONDS = 30
STREAM_MAX_SECONDS = 600
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


class RunPageMixin:
    """For WorkflowRunAdmin: the change view as the run page, its stream and its raw events."""

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
            "status_html": status_html(run),
            "result_json": json_block(run.result) if run.result is not None else None,
            "result_tables": UNITS[run.workflow_type].result_tables(run),
            "logs": UNITS[run.workflow_type].logs(run),
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
