import uuid

from django.conf import settings
from django.db import models

from orchestration.contract.registry import workflow_type_choices


class WorkflowSchedule(models.Model):
    """A Temporal Schedule as the console knows it: the database is the source of truth
    (`manage.py sync_schedules` re-creates Temporal's side from it). Change it only through
    orchestration.services.schedules, which keeps Temporal in step."""

    class Overlap(models.TextChoices):
        SKIP = "skip", "Skip"
        BUFFER_ONE = "buffer_one", "Buffer one"
        ALLOW_ALL = "allow_all", "Allow all"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="schedules"
    )
    workflow_type = models.CharField(max_length=32, choices=workflow_type_choices)
    # The start body's parameters (less the organization), validated like a start.
    params = models.JSONField(default=dict, blank=True)
    cron = models.CharField(max_length=100, blank=True)
    interval_seconds = models.PositiveIntegerField(null=True, blank=True)
    paused = models.BooleanField(default=False)
    overlap = models.CharField(max_length=16, choices=Overlap.choices, default=Overlap.SKIP)
    pause_on_failure = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=(
                    (~models.Q(cron="") & models.Q(interval_seconds__isnull=True))
                    | (models.Q(cron="") & models.Q(interval_seconds__isnull=False))
                ),
                name="schedule_cron_or_interval",
            )
        ]

    def __str__(self) -> str:
        every = self.cron or f"every {self.interval_seconds} s"
        return f"{self.workflow_type} ({every})"
