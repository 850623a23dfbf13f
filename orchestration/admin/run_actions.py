"""What a person can do to a run from the admin, declared once for the run list's bulk actions
and the run page's buttons: who may do it to which run, and the service call it makes."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.exceptions import ValidationError as DRFValidationError

from orchestration import authorization
from orchestration.exceptions import RunStateConflict, TemporalUnavailable
from orchestration.models import WorkflowRun
from orchestration.services.runs import (
    workflow_run_cancel,
    workflow_run_refresh,
    workflow_run_retry,
    workflow_run_terminate,
)
from orchestration.workflows.registry import get_unit

Status = WorkflowRun.Status

# What performing an action on one run can run into; each becomes that run's error message.
ACTION_ERRORS = (
    RunStateConflict,
    TemporalUnavailable,
    PermissionDenied,
    DRFValidationError,
    ValueError,
)


@dataclass(frozen=True)
class Outcome:
    message: str
    run: WorkflowRun  # the run to show next (a retry's new run)


@dataclass(frozen=True)
class RunAction:
    verb: str
    description: str  # the bulk action's label
    allowed: Callable[[AbstractBaseUser, WorkflowRun], bool]
    perform: Callable[[HttpRequest, WorkflowRun, str], Outcome]
    needs_reason: bool = False
    label: Callable[[WorkflowRun], str] | None = None

    def button_label(self, run: WorkflowRun) -> str:
        return self.label(run) if self.label else self.verb.capitalize()


_manages = authorization.may_manage


def _may_cancel(user: AbstractBaseUser, run: WorkflowRun) -> bool:
    return (
        run.status == Status.RUNNING
        and run.cancel_requested_at is None
        and authorization.may_cancel(user, run)
    )


def _cancel(request: HttpRequest, run: WorkflowRun, reason: str) -> Outcome:
    workflow_run_cancel(user=request.user, run=run)
    return Outcome("cancellation requested.", run)


def _terminate(request: HttpRequest, run: WorkflowRun, reason: str) -> Outcome:
    workflow_run_terminate(user=request.user, run=run, reason=reason)
    return Outcome("terminated.", run)


def _retry(request: HttpRequest, run: WorkflowRun, reason: str) -> Outcome:
    params = get_unit(run.workflow_type).start_serializer.validated_retry_params(
        run=run, overrides={}, context={"request": request}
    )
    new_run = workflow_run_retry(user=request.user, run=run, params=params)
    return Outcome(f"retried as {new_run.workflow_id} ({new_run.get_status_display()}).", new_run)


def _refresh(request: HttpRequest, run: WorkflowRun, reason: str) -> Outcome:
    status = workflow_run_refresh(user=request.user, run=run)
    return Outcome(f"now {status}." if status else "already up to date.", run)


RUN_ACTIONS: dict[str, RunAction] = {
    action.verb: action
    for action in (
        RunAction("cancel", "Cancel selected runs", _may_cancel, _cancel),
        RunAction(
            "terminate",
            "Terminate selected runs",
            lambda user, run: run.status == Status.RUNNING and _manages(user, run),
            _terminate,
            needs_reason=True,
        ),
        RunAction(
            "retry",
            "Retry selected runs with the same input",
            lambda user, run: run.is_terminal and _manages(user, run),
            _retry,
            label=lambda run: "Run again" if run.status == Status.COMPLETED else "Retry",
        ),
        RunAction(
            "refresh",
            "Refresh status from Temporal",
            lambda user, run: (
                (not run.is_terminal or run.status == Status.START_FAILED) and _manages(user, run)
            ),
            _refresh,
        ),
    )
}


def actions_for(user: AbstractBaseUser, run: WorkflowRun) -> list[RunAction]:
    """The actions `user` may take on `run` in its current state, in display order."""
    return [action for action in RUN_ACTIONS.values() if action.allowed(user, run)]
