"""Writing the audit log. Callers write an event inside the same transaction as the change."""

from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from orchestration.context import current_request_context
from orchestration.models import AuditEvent


class AuditAction(StrEnum):
    WORKFLOW_START = "workflow.start"
    WORKFLOW_STARTED = "workflow.started"
    WORKFLOW_START_FAILED = "workflow.start_failed"
    WORKFLOW_IDEMPOTENT_REPLAY = "workflow.idempotent_replay"
    WORKFLOW_CANCEL = "workflow.cancel"
    WORKFLOW_CANCEL_FAILED = "workflow.cancel_failed"
    WORKFLOW_TERMINATE = "workflow.terminate"
    WORKFLOW_TERMINATE_FAILED = "workflow.terminate_failed"
    WORKFLOW_RETRY = "workflow.retry"
    WORKFLOW_STATUS = "workflow.status"
    WORKFLOW_RECONCILED = "workflow.reconciled"
    SCHEDULE_CREATE = "schedule.create"
    SCHEDULE_UPDATE = "schedule.update"
    SCHEDULE_PAUSE = "schedule.pause"
    SCHEDULE_UNPAUSE = "schedule.unpause"
    SCHEDULE_TRIGGER = "schedule.trigger"
    SCHEDULE_DELETE = "schedule.delete"
    SCHEDULE_SYNCED = "schedule.synced"
    SCHEDULE_RUN_STARTED = "schedule.run_started"
    MEMBERSHIP_SET = "membership.set"
    MEMBERSHIP_REMOVE = "membership.remove"
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    LOGIN_LOCKOUT = "login.lockout"
    LOGIN_UNLOCK = "login.unlock"
    PAYLOADS_DECODED = "temporal.payloads_decoded"
    INTEGRATION_CONFIGURE = "integration.configure"
    INTEGRATION_CHECK = "integration.check"
    INTEGRATION_WEBHOOK_ENABLE = "integration.webhook_enable"
    INTEGRATION_WEBHOOK_DISABLE = "integration.webhook_disable"
    INTEGRATION_WEBHOOK_DELIVERY = "integration.webhook_delivery"


def audit_event_record(
    *,
    action: AuditAction,
    actor: AbstractBaseUser | None = None,
    organization=None,
    run=None,
    payload: dict[str, Any] | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    actor_name: str = "",
) -> AuditEvent:
    """Append one event. The request id and client IP come from the current request, if any.
    `actor_name` names an actor that is no user (a schedule), when `actor` is None."""
    context = current_request_context()
    actor = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_username=actor.get_username() if actor else actor_name,
        organization=organization
        if organization is not None
        else getattr(run, "organization", None),
        run=run,
        workflow_id=run.workflow_id if run is not None else "",
        payload=payload or {},
        outcome=outcome,
        client_ip=context.client_ip,
        request_id=context.request_id,
    )
