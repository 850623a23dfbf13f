"""Read-only, permission-scoped queries for the records the workflows create."""

from datetime import date

from django.db.models import Count, IntegerField, Model, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from orchestration import authorization
from orchestration.models import (
    Campaign,
    CampaignMember,
    Client,
    Integration,
    ModelVersion,
    PlatformMetric,
    SyncedRecord,
    WorkflowRun,
)

# How each platform model reaches its organization.
_ORGANIZATION_PATH = {
    Client: "organization",
    Integration: "client__organization",
    ModelVersion: "organization",
    Campaign: "organization",
}


def platform_record_list(*, user, model: type[Model]) -> QuerySet:
    """`model`'s rows in the organizations where `user` may see runs."""
    queryset = model.objects.select_related(_ORGANIZATION_PATH[model])
    if user.is_superuser:
        return queryset
    return queryset.filter(
        **{f"{_ORGANIZATION_PATH[model]}__in": authorization.visible_organizations(user)}
    )


def client_list(*, user) -> QuerySet[Client]:
    """The user's clients, each with `integration_count`."""
    return platform_record_list(user=user, model=Client).annotate(
        integration_count=Count("integrations")
    )


def with_record_count(integrations: QuerySet[Integration]) -> QuerySet[Integration]:
    """Annotate each integration with `record_count`, the client's records from its platform.
    A subquery, not a join: the records belong to the client, not to the integration row."""
    records = (
        SyncedRecord.objects.filter(client=OuterRef("client_id"), platform=OuterRef("platform"))
        .order_by()
        .values("client")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return integrations.annotate(
        record_count=Coalesce(Subquery(records, output_field=IntegerField()), 0)
    )


def integration_list(*, user) -> QuerySet[Integration]:
    """The user's integrations with their client and `record_count`."""
    return with_record_count(
        platform_record_list(user=user, model=Integration).select_related("client")
    )


def model_version_list(*, user) -> QuerySet[ModelVersion]:
    """The user's model versions (`active`: the one of its kind that campaigns use)."""
    return platform_record_list(user=user, model=ModelVersion)


def campaign_list(*, user) -> QuerySet[Campaign]:
    """The user's campaigns with their models and `audience_size`."""
    return (
        platform_record_list(user=user, model=Campaign)
        .select_related("scored_with", "segmented_with")
        .annotate(audience_size=Count("audience"))
    )


def campaign_audience(*, campaign: Campaign, limit: int) -> QuerySet[CampaignMember]:
    """The campaign's first `limit` members, riskiest first."""
    return campaign.audience.order_by("-churn_risk", "email")[:limit]


def client_record_counts(*, client: Client) -> dict[str, int]:
    """How many synced records the client has from each platform."""
    counts = client.records.order_by("platform").values("platform").annotate(count=Count("pk"))
    return {row["platform"]: row["count"] for row in counts}


def client_metric_totals(*, client: Client, since: date) -> list[dict]:
    """The client's daily platform metrics from `since` on, summed per platform and metric,
    with how many days reported them: [{"platform", "name", "total", "days"}], one query."""
    return list(
        PlatformMetric.objects.filter(integration__client=client, day__gte=since)
        .values("integration__platform", "name")
        .annotate(total=Sum("value"), days=Count("day", distinct=True))
        .order_by("integration__platform", "name")
    )


def client_run_list(*, client: Client) -> QuerySet[WorkflowRun]:
    """The runs that touched the client: the one that created it and every run whose input
    names it (syncs, offboarding)."""
    named = Q(input__client_id=client.pk)
    # A client made outside a run (seed data) has no creator: `pk=None` then matches nothing.
    return WorkflowRun.objects.filter(
        Q(pk=client.created_by_run_id) | named, organization=client.organization_id
    ).order_by("-created_at")
