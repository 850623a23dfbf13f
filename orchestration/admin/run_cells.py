"""The run list's cells and the run page's status as HTML: the cells that follow an open run
live (the list's poller swaps them out of band, `live_cell(..., oob=True)`), and the small
pieces the run page shares with them."""

import json

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from orchestration.models import WorkflowRun
from orchestration.templatetags.console import duration


def json_block(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def when(moment) -> str:
    if moment is None:
        return "-"
    local = timezone.localtime(moment)
    return format_html(
        '<time datetime="{}">{}</time>', local.isoformat(), f"{local:%b %d, %H:%M:%S}"
    )


def status_html(run: WorkflowRun) -> str:
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


def step_text(run: WorkflowRun) -> str:
    return "" if run.is_terminal else run.current_step


def duration_text(run: WorkflowRun) -> str:
    return duration(run.duration)


def error_html(run: WorkflowRun) -> str:
    message = run.error or (run.last_failure if run.retrying else "")
    first_line = message.strip().splitlines()[0] if message.strip() else ""
    return format_html('<span class="run-error" title="{}">{}</span>', message, first_line)


LIVE_CELLS = {
    "status": status_html,
    "step": step_text,
    "duration": duration_text,
    "error": error_html,
}


def live_cell(run: WorkflowRun, name: str, *, oob: bool = False) -> str:
    return format_html(
        '<span id="run-{}-{}"{}>{}</span>',
        run.pk,
        name,
        mark_safe(' hx-swap-oob="true"') if oob else "",
        LIVE_CELLS[name](run),
    )
