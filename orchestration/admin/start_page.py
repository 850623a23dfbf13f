"""The start page of each workflow type: its form, generated from the type's input schema
(`start_forms`), and the same service a REST start calls."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from orchestration import authorization
from orchestration.exceptions import TemporalUnavailable
from orchestration.services.runs import workflow_run_start
from orchestration.workflows.registry import UNITS

from .start_forms import start_form_class


class StartPageMixin:
    """For WorkflowRunAdmin: `start_view`, one page per workflow type."""

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
