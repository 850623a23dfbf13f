import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from orchestration.contract.registry import workflow_type_choices


class WorkflowRun(models.Model):
    """One workflow execution as the console knows it. Change it only through services."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        RUNNING = "RUNNING", "Running"
        COMPLETED = "COMPLETED", "Completed"
        FAILED = "FAILED", "Failed"
        CANCELED = "CANCELED", "Canceled"
        TERMINATED = "TERMINATED", "Terminated"
        TIMED_OUT = "TIMED_OUT", "Timed out"
        START_FAILED = "START_FAILED", "Start failed"

    # A UUID key keeps workflow ids unique even across databases that reuse integer keys.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="runs"
    )
    workflow_type = models.CharField(max_length=32, choices=workflow_type_choices)
    workflow_id = models.CharField(max_length=200, unique=True)
    run_id = models.CharField(max_length=64, blank=True)
    # Indexed with created_at (Meta.indexes): the lists filter by status, newest first.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    input = models.JSONField(default=dict)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    current_step = models.CharField(max_length=64, blank=True)
    steps_done = models.JSONField(default=list)
    # Set by the worker when an activity attempt fails and Temporal will try again, cleared
    # when a later attempt succeeds: the list shows struggling runs without asking Temporal.
    retrying = models.BooleanField(default=False)
    last_failure = models.TextField(blank=True)
    last_failure_activity = models.CharField(max_length=64, blank=True)
    last_failure_attempt = models.PositiveIntegerField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="started_runs",
    )
    # Set when a Temporal Schedule started the run (then `started_by` is empty).
    schedule = models.ForeignKey(
        "orchestration.WorkflowSchedule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
    )
    cancel_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cancelled_runs",
    )
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    TERMINAL = frozenset(
        {
            Status.COMPLETED,
            Status.FAILED,
            Status.CANCELED,
            Status.TERMINATED,
            Status.TIMED_OUT,
            Status.START_FAILED,
        }
    )

    class Meta:
        ordering = ["-created_at"]
        # The lists' filters, newest first, for one organization and for all (issue 12, P4: a
        # status or type+status filter over a million runs took 140-560 ms without them: the
        # database sorted every matching run to show 25; see README "Lists at a million runs").
        indexes = [
            models.Index(fields=["organization", "-created_at"]),
            models.Index(fields=["status", "-created_at"], name="run_status_created"),
            models.Index(
                fields=["workflow_type", "status", "-created_at"], name="run_type_status_created"
            ),
            models.Index(
                fields=["organization", "status", "-created_at"], name="run_org_status_created"
            ),
            models.Index(
                fields=["organization", "workflow_type", "status", "-created_at"],
                name="run_org_type_status_created",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "workflow_type", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return self.workflow_id

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def duration(self):
        """How long the run took (to now while it is still open); None before it started."""
        if self.started_at is None or (self.closed_at is None and self.is_terminal):
            return None
        return (self.closed_at or timezone.now()) - self.started_at
