"""The effects of the workflows' activities. Each function is idempotent: the run that asks
is recorded on what it creates, so a retried activity finds and returns its earlier work."""

import bisect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Max

from accounts.models import Organization
from orchestration.contract.vocabulary import EyesModel, Platform
from orchestration.models import (
    Campaign,
    CampaignMember,
    Client,
    Dashboard,
    Integration,
    ModelVersion,
    SyncedRecord,
    WorkflowRun,
)

from . import checkpoints, training
from .errors import DataValidationError

# heartbeat(progress, *details): a line people read, then anything needed to resume.
Heartbeat = Callable[..., None]


def client_onboarding_validate(
    *, run_pk: str, organization_id: int, name: str, email: str, platforms: list[str]
) -> Client:
    """Check the client's data against the organization and record the client (onboarding)."""
    existing = Client.objects.filter(created_by_run_id=run_pk).first()
    if existing is not None:
        return existing
    name = name.strip()
    if not name:
        raise DataValidationError("The client's name is empty.")
    unknown = sorted(set(platforms) - set(Platform))
    if unknown:
        raise DataValidationError(f"Unknown platforms: {', '.join(unknown)}.")
    if len(set(platforms)) != len(platforms):
        raise DataValidationError("Each platform may be listed once.")
    organization = Organization.objects.get(pk=organization_id)
    if Client.objects.filter(organization=organization, email__iexact=email).exists():
        raise DataValidationError(
            f"A client with the e-mail {email} already exists in {organization.name}."
        )
    try:
        return Client.objects.create(
            organization=organization, name=name, email=email, created_by_run_id=run_pk
        )
    except IntegrityError:
        raise DataValidationError(
            f"A client with the e-mail {email} already exists in {organization.name}."
        ) from None


def client_integrations_setup(*, client_id: int, platforms: list[str]) -> list[str]:
    client = Client.objects.get(pk=client_id)
    for platform in platforms:
        Integration.objects.get_or_create(client=client, platform=platform)
    return sorted(client.integrations.values_list("platform", flat=True))


def client_dashboard_create(*, client_id: int) -> Dashboard:
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client_id)
        platforms = sorted(client.integrations.values_list("platform", flat=True))
        dashboard, _ = Dashboard.objects.get_or_create(
            client=client,
            defaults={
                "title": f"{client.name} overview",
                "widgets": [{"type": "platform_summary", "platform": p} for p in platforms]
                + [{"type": "churn_risk"}, {"type": "customer_segments"}],
            },
        )
        if client.status != Client.Status.ACTIVE:
            client.status = Client.Status.ACTIVE
            client.save(update_fields=["status"])
    return dashboard


def _customer_matrix(organization_id: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rows = list(
        SyncedRecord.objects.filter(client__organization_id=organization_id)
        .order_by("email", "platform")
        .values_list("email", *training.FEATURES, "churned")
    )
    features = np.array([row[1:5] for row in rows], dtype=float).reshape(-1, 4)
    labels = np.array([int(row[5]) for row in rows], dtype=int)
    return features, labels, [row[0] for row in rows]


def eyes_model_retrain(
    *,
    run_pk: str,
    organization_id: int,
    model: str,
    params: dict,
    heartbeat: Heartbeat,
    checkpoint: str | None = None,
) -> ModelVersion:
    """Train the model on the organization's synced records and store it as a new version,
    the active one of its kind (the previous active version is deactivated with it).

    Nothing is stored until training has finished, so a cancelled or failed run leaves no
    version and the previous one active.
    Heartbeats carry a checkpoint; given one (from an interrupted attempt), training resumes
    from its epoch instead of starting over.
    """
    existing = ModelVersion.objects.filter(run_id=run_pk).first()
    if existing is not None:
        return existing
    kind = EyesModel(model)
    features, labels, _ = _customer_matrix(organization_id)
    trained = training.train(
        kind,
        features,
        labels,
        params,
        on_epoch=checkpoints.progress_reporter(heartbeat, checkpoint),
        resume=checkpoints.decode(checkpoint),
    )
    with transaction.atomic():
        # One retrain of an organization finishes at a time: the version number and the
        # active flag move together.
        Organization.objects.select_for_update().get(pk=organization_id)
        versions = ModelVersion.objects.filter(organization_id=organization_id, kind=kind)
        latest = versions.aggregate(Max("version"))["version__max"]
        versions.filter(active=True).update(active=False)
        return ModelVersion.objects.create(
            organization_id=organization_id,
            kind=kind,
            version=(latest or 0) + 1,
            params=params,
            metrics=trained.metrics,
            parameters=trained.parameters,
            training_rows=len(features),
            active=True,
            run=WorkflowRun.objects.get(pk=run_pk),
        )


# The churn-risk distribution a campaign reports: [0, 0.2), [0.2, 0.4) ... [0.8, 1].
RISK_BUCKET_EDGES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass
class CampaignAudience:
    """Who a campaign reaches: each customer (by e-mail) at their highest churn risk, and the
    model versions that chose and scored them."""

    members: dict[str, float]
    scored_with: ModelVersion
    segmented_with: ModelVersion | None = None


def churn_risk_distribution(risks: list[float]) -> list[dict]:
    """How many of `risks` fall in each of RISK_BUCKET_EDGES' buckets."""
    lower_edges = RISK_BUCKET_EDGES[:-1]
    buckets = [0] * len(lower_edges)
    for risk in risks:
        buckets[max(bisect.bisect_right(lower_edges, risk) - 1, 0)] += 1
    return [
        {"from": low, "to": high, "customers": customers}
        for low, high, customers in zip(lower_edges, RISK_BUCKET_EDGES[1:], buckets, strict=True)
    ]


class CampaignModelError(DataValidationError):
    """A campaign's audience can't be chosen as asked; `field` is the input to blame."""

    def __init__(self, message: str, *, field: str = "non_field_errors") -> None:
        super().__init__(message)
        self.field = field


def active_model_version(*, organization_id: int, kind: str) -> ModelVersion | None:
    """The version of `kind` that campaigns use: the last retrain of it that completed."""
    return ModelVersion.objects.filter(
        organization_id=organization_id, kind=kind, active=True
    ).first()


def retention_campaign_models(
    *, organization: Organization, min_churn_risk: float | None, segment: int | None
) -> tuple[ModelVersion, ModelVersion | None]:
    """The active churn model (it scores every campaign) and, for a segment, the active
    clustering model; a DataValidationError says what is missing or wrong."""
    if (min_churn_risk is None) == (segment is None):
        raise CampaignModelError("A campaign needs either min_churn_risk or segment (not both).")
    if min_churn_risk is not None and not 0 <= min_churn_risk <= 1:
        raise CampaignModelError("min_churn_risk must be between 0 and 1.", field="min_churn_risk")
    churn = active_model_version(organization_id=organization.pk, kind=EyesModel.CHURN)
    if churn is None:
        raise CampaignModelError(
            f"No active churn model in {organization.name}: run an EYES churn retrain first."
        )
    if segment is None:
        return churn, None
    clustering = active_model_version(organization_id=organization.pk, kind=EyesModel.CLUSTERING)
    if clustering is None:
        raise CampaignModelError(
            f"No active clustering model in {organization.name}: "
            "run an EYES clustering retrain first.",
            field="segment",
        )
    segments = len(clustering.parameters.get("centroids", []))
    if not 0 <= segment < segments:
        raise CampaignModelError(
            f"No segment {segment} in {organization.name}'s active clustering model "
            f"(v{clustering.version}): its segments are 0 to {segments - 1}.",
            field="segment",
        )
    return churn, clustering


def retention_campaign_audience(
    *, organization_id: int, min_churn_risk: float | None = None, segment: int | None = None
) -> CampaignAudience:
    """The customers a campaign would reach now: those at or above `min_churn_risk` under the
    active churn model, or those the active clustering model puts in `segment` (the nearest
    centroid, on the features scaled as in its training). A customer seen on several
    platforms counts once, at their highest risk (in the segment: of their records in it)."""
    organization = Organization.objects.get(pk=organization_id)
    churn, clustering = retention_campaign_models(
        organization=organization, min_churn_risk=min_churn_risk, segment=segment
    )
    features, _, emails = _customer_matrix(organization_id)
    if not len(features):
        return CampaignAudience({}, churn, clustering)
    risks = training.churn_risk(features, churn.parameters)
    if clustering is None:
        chosen = risks >= min_churn_risk
    else:
        chosen = training.nearest_cluster(features, clustering.parameters) == segment
    members: dict[str, float] = {}
    for email, risk, picked in zip(emails, risks.tolist(), chosen.tolist(), strict=True):
        if picked:
            members[email] = max(round(risk, 4), members.get(email, 0.0))
    return CampaignAudience(dict(sorted(members.items())), churn, clustering)


def retention_campaign_create(
    *,
    run_pk: str,
    organization_id: int,
    name: str,
    channel: str,
    min_churn_risk: float | None = None,
    segment: int | None = None,
) -> Campaign:
    """Store a campaign whose audience is `retention_campaign_audience`'s, with the model
    versions that chose it."""
    existing = Campaign.objects.filter(run_id=run_pk).first()
    if existing is not None:
        return existing
    audience = retention_campaign_audience(
        organization_id=organization_id, min_churn_risk=min_churn_risk, segment=segment
    )
    with transaction.atomic():
        campaign = Campaign.objects.create(
            organization_id=organization_id,
            name=name,
            channel=channel,
            min_churn_risk=min_churn_risk,
            segment=segment,
            scored_with=audience.scored_with,
            segmented_with=audience.segmented_with,
            run=WorkflowRun.objects.get(pk=run_pk),
        )
        CampaignMember.objects.bulk_create(
            [
                CampaignMember(campaign=campaign, email=email, churn_risk=risk)
                for email, risk in audience.members.items()
            ]
        )
    return campaign
