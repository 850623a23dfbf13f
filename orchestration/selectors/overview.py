"""The console's home page: per organization, what ran lately, what runs now, what struggles
and what failed. A few grouped queries whatever the number of runs shown."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Organization
from orchestration import authorization
from orchestration.models import WorkflowRun

Status = WorkflowRun.Status
RECENT_FAILURES = 5
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}


@dataclass
class OrganizationOverview:
    organization: Organization
    # window ("24h", "7d") -> status -> number of runs created in that window
    by_status: dict[str, dict[str, int]] = field(default_factory=dict)
    running: int = 0
    retrying: int = 0
    recent_failures: list[WorkflowRun] = field(default_factory=list)

    @property
    def rows(self) -> list[tuple[str, list[tuple[str, int]]]]:
        """Per window, the number of runs in each status, in the statuses' order."""
        return [
            (window, [(status, counts.get(status, 0)) for status in Status.values])
            for window, counts in self.by_status.items()
        ]


def run_overview(*, user) -> list[OrganizationOverview]:
    now = timezone.now()
    organizations = list(authorization.visible_organizations(user).order_by("name"))
    overview = {
        org.pk: OrganizationOverview(org, by_status={window: {} for window in WINDOWS})
        for org in organizations
    }
    runs = WorkflowRun.objects.filter(organization__in=list(overview)).order_by()
    week = runs.filter(created_at__gte=now - WINDOWS["7d"])
    counts = week.values("organization_id", "status").annotate(
        week=Count("pk"), day=Count("pk", filter=Q(created_at__gte=now - WINDOWS["24h"]))
    )
    for row in counts:
        windows = overview[row["organization_id"]].by_status
        windows["7d"][row["status"]] = row["week"]
        if row["day"]:
            windows["24h"][row["status"]] = row["day"]
    open_counts = (
        runs.filter(status=Status.RUNNING)
        .values("organization_id")
        .annotate(running=Count("pk"), retrying=Count("pk", filter=Q(retrying=True)))
    )
    for row in open_counts:
        overview[row["organization_id"]].running = row["running"]
        overview[row["organization_id"]].retrying = row["retrying"]
    failed = [Status.FAILED, Status.TIMED_OUT, Status.START_FAILED, Status.TERMINATED]
    recent = runs.filter(status__in=failed, created_at__gte=now - WINDOWS["7d"]).order_by(
        "-created_at"
    )
    for run in recent[: RECENT_FAILURES * len(overview)]:
        failures = overview[run.organization_id].recent_failures
        if len(failures) < RECENT_FAILURES:
            failures.append(run)
    return list(overview.values())
