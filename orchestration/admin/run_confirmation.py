"""The run actions behind a confirmation page, in bulk from the run list and one at a time
from the run page: the same page, the same service call and audit event (`run_actions`)."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from orchestration import authorization
from orchestration.models import WorkflowRun

from .form_errors import error_text
from .run_actions import ACTION_ERRORS, RUN_ACTIONS, RunAction


class ConfirmedRunActionsMixin:
    """For WorkflowRunAdmin: the bulk actions and the run page's action view."""

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
