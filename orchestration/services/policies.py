"""The effective workflow policies: each unit's policy with settings' overrides applied."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from orchestration.contract import registry
from orchestration.contract.definition import WorkflowPolicy

_WORKFLOW_FIELDS = {
    "execution_timeout_seconds",
    "maximum_attempts",
    "initial_interval_seconds",
    "backoff_coefficient",
    "maximum_interval_seconds",
}
_ACTIVITY_FIELDS = {"start_to_close_seconds", "heartbeat_seconds"}


def workflow_policy(workflow_type: str) -> WorkflowPolicy:
    """The policy a new run of `workflow_type` starts with.

    `settings.TEMPORAL_WORKFLOW_POLICIES[type]` may override the workflow fields and, under
    "activities", an activity's `start_to_close_seconds` and `heartbeat_seconds`.
    """
    policy = registry.get_definition(workflow_type).policy()
    overrides = dict(settings.TEMPORAL_WORKFLOW_POLICIES.get(workflow_type, {}))
    activity_overrides = overrides.pop("activities", {})
    unknown = set(overrides) - _WORKFLOW_FIELDS
    if unknown:
        raise ImproperlyConfigured(f"Unknown policy fields for {workflow_type}: {sorted(unknown)}")
    for name, value in overrides.items():
        setattr(policy, name, value)
    for activity, fields in activity_overrides.items():
        if set(fields) - _ACTIVITY_FIELDS:
            raise ImproperlyConfigured(f"Unknown policy fields for activity {activity}: {fields}")
        step = policy.for_activity(activity)
        for name, value in fields.items():
            setattr(step, name, value)
    return policy


def workflow_policies() -> dict[str, WorkflowPolicy]:
    return {workflow_type: workflow_policy(workflow_type) for workflow_type in registry.DEFINITIONS}
