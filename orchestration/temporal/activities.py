"""The activities: sync functions run on the worker's thread pool, each a thin call into a
service. Before and after each call the thread's database connections are released: none is
left inside a transaction, whatever ended the call (`connections.release_connections`).
Long activities heartbeat, which is how a cancellation reaches them."""

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory, CancelledError

from orchestration.exceptions import DATABASE_ERRORS
from orchestration.platform import services as platform
from orchestration.platform.errors import DataValidationError
from orchestration.services.runs import (
    workflow_run_record_activity_attempt,
    workflow_run_record_retry_started,
    workflow_run_record_status,
    workflow_runs_reconcile,
)

from .connections import release_connections
from .heartbeats import beat, heartbeats_kept
from .shared import (
    INTERRUPTED_ERROR_TYPE,
    VALIDATION_ERROR_TYPE,
    Activity,
    CampaignResult,
    ClientOnboardingInput,
    ClientRef,
    EyesRetrainInput,
    PlatformSyncInput,
    RetentionCampaignInput,
    RetrainResult,
    RunStatusReport,
    SyncResult,
    failure_message,
)

F = TypeVar("F", bound=Callable)
# The activities that are a run's steps, whose attempts the run's row records.
RUN_STEPS = set(Activity) - {Activity.REPORT_RUN_STATUS, Activity.RECONCILE_RUNS}


def console_activity(name: Activity) -> Callable[[F], F]:
    """Register `fn` as activity `name` with connection hygiene, heartbeats kept while it
    runs, and non-retryable validation errors."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            release_connections()
            if name in RUN_STEPS and activity.info().attempt > 1:
                _record_retry_started()
            try:
                with heartbeats_kept():
                    result = fn(*args, **kwargs)
            except DataValidationError as error:
                _count("omnify_activity_outcomes", activity=name, outcome="invalid")
                # An expected outcome: one log line, not the SDK's WARNING with a traceback
                # (it logs BENIGN failures at DEBUG).
                activity.logger.info("%s refused its input: %s", name.value, error)
                raise ApplicationError(
                    str(error),
                    type=VALIDATION_ERROR_TYPE,
                    non_retryable=True,
                    category=ApplicationErrorCategory.BENIGN,
                ) from None  # the message is the whole story; no traceback chain
            except CancelledError:
                _count("omnify_activity_outcomes", activity=name, outcome="cancelled")
                raise
            except DATABASE_ERRORS as error:
                if name not in RUN_STEPS:
                    raise  # status reports retry on their own; reconcile runs again anyway
                # Busy (another writer kept SQLite's lock) or down: not the step's fault, so
                # not one of its attempts; the workflow schedules it again after a pause.
                _count("omnify_activity_outcomes", activity=name, outcome="interrupted")
                raise ApplicationError(
                    f"The database is unavailable: {error}",
                    type=INTERRUPTED_ERROR_TYPE,
                    non_retryable=True,
                ) from error
            except Exception as error:
                _count("omnify_activity_outcomes", activity=name, outcome="failed")
                if name in RUN_STEPS:
                    _record_attempt(error)
                raise
            else:
                _count("omnify_activity_outcomes", activity=name, outcome="succeeded")
                if activity.info().attempt > 1 and name in RUN_STEPS:
                    _record_attempt(None)
                return result
            finally:
                release_connections()

        return activity.defn(name=name.value)(wrapper)

    return decorate


def _count(metric: str, **attributes: str) -> None:
    """Add one to a counter exported by the worker's SDK runtime (its Prometheus endpoint)."""
    counter = activity.metric_meter().create_counter(metric)
    counter.with_additional_attributes(attributes).add(1)


def _record_attempt(error: Exception | None) -> None:
    """Tell the run whether this activity is failing and will be tried again."""
    info = activity.info()
    policy = info.retry_policy
    will_retry = error is not None and (
        policy is None or not policy.maximum_attempts or info.attempt < policy.maximum_attempts
    )
    try:
        workflow_run_record_activity_attempt(
            workflow_id=info.workflow_id,
            activity=info.activity_type,
            attempt=info.attempt,
            error=failure_message(error) if error is not None else "",
            will_retry=will_retry,
        )
    except Exception:  # never let bookkeeping hide the activity's own outcome
        activity.logger.exception("Could not record the attempt of %s", info.activity_type)


def _record_retry_started() -> None:
    info = activity.info()
    try:
        workflow_run_record_retry_started(
            workflow_id=info.workflow_id, activity=info.activity_type, attempt=info.attempt
        )
    except Exception:  # bookkeeping must not fail the attempt it describes
        activity.logger.exception("Could not record the retry of %s", info.activity_type)


def _heartbeat(progress: str, *resume_details: Any) -> None:
    beat(progress, *resume_details)
    # The SDK also raises into the thread on cancellation; checking here stops at a clean
    # point between steps even when that is disabled or late.
    if activity.is_cancelled():
        raise CancelledError("Cancelled while running.")
    if activity.is_worker_shutdown():
        # Stop at a clean point and hand the checkpoint over: non-retryable, so it costs no
        # attempt; the workflow schedules the step again (see workflows.py).
        raise ApplicationError(
            "The worker is shutting down; the step resumes on another worker.",
            *resume_details,
            type=INTERRUPTED_ERROR_TYPE,
            non_retryable=True,
        )


def _resume_checkpoint(given: str | None) -> str | None:
    """The checkpoint a retried attempt heartbeated last (Temporal keeps heartbeat details
    across attempts), else the one the workflow passed in after an interruption."""
    details = activity.info().heartbeat_details
    return details[1] if len(details) > 1 and details[1] else given


@console_activity(Activity.VALIDATE_CLIENT_DATA)
def validate_client_data(input: ClientOnboardingInput) -> int:
    client = platform.client_onboarding_validate(
        run_pk=input.run,
        organization_id=input.organization_id,
        name=input.name,
        email=input.email,
        platforms=input.platforms,
    )
    return client.pk


@console_activity(Activity.SETUP_CLIENT_INTEGRATIONS)
def setup_client_integrations(ref: ClientRef) -> list[str]:
    return platform.client_integrations_setup(client_id=ref.client_id, platforms=ref.platforms)


@console_activity(Activity.CREATE_CLIENT_DASHBOARD)
def create_client_dashboard(ref: ClientRef) -> int:
    return platform.client_dashboard_create(client_id=ref.client_id).pk


@console_activity(Activity.SYNC_PLATFORM_DATA)
def sync_platform_data(input: PlatformSyncInput) -> SyncResult:
    records, created = platform.platform_records_sync(
        organization_id=input.organization_id,
        client_id=input.client_id,
        platform=input.platform,
        heartbeat=_heartbeat,
    )
    return SyncResult(
        client_id=input.client_id, platform=input.platform, records=records, created=created
    )


@console_activity(Activity.RETRAIN_EYES_MODEL)
def retrain_eyes_model(input: EyesRetrainInput) -> RetrainResult:
    version = platform.eyes_model_retrain(
        run_pk=input.run,
        organization_id=input.organization_id,
        model=input.model,
        params=input.params,
        heartbeat=_heartbeat,
        checkpoint=_resume_checkpoint(input.checkpoint),
    )
    return RetrainResult(
        model_version_id=version.pk,
        model=version.kind,
        version=version.version,
        training_rows=version.training_rows,
        metrics=version.metrics,
    )


@console_activity(Activity.CREATE_RETENTION_CAMPAIGN)
def create_retention_campaign(input: RetentionCampaignInput) -> CampaignResult:
    campaign = platform.retention_campaign_create(
        run_pk=input.run,
        organization_id=input.organization_id,
        name=input.name,
        channel=input.channel,
        min_churn_risk=input.min_churn_risk,
    )
    return CampaignResult(
        campaign_id=campaign.pk,
        audience_size=campaign.audience.count(),
        scored_with_model_version=campaign.scored_with.version if campaign.scored_with else None,
    )


@console_activity(Activity.RECONCILE_RUNS)
def reconcile_runs() -> int:
    changes = workflow_runs_reconcile()
    for run, status in changes:
        activity.logger.info("reconciled run %s: now %s", run.workflow_id, status)
    return len(changes)


@console_activity(Activity.REPORT_RUN_STATUS)
def report_run_status(report: RunStatusReport) -> None:
    workflow_run_record_status(report=report)
    if report.status != "RUNNING":
        _count(
            "omnify_workflow_completions",
            workflow_type=activity.info().workflow_type,
            outcome=report.status,
        )


ACTIVITIES = [
    validate_client_data,
    setup_client_integrations,
    create_client_dashboard,
    sync_platform_data,
    retrain_eyes_model,
    create_retention_campaign,
    report_run_status,
    reconcile_runs,
]
