"""The effects of the workflows' activities. Each function is idempotent: the run that asks
is recorded on what it creates, so a retried activity finds and returns its earlier work."""

from collections.abc import Callable

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Max

from accounts.models import Organization
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
from orchestration.temporal.shared import EyesModel, Platform

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


def retention_campaign_create(
    *, run_pk: str, organization_id: int, name: str, channel: str, min_churn_risk: float
) -> Campaign:
    """Score every customer's churn risk (latest churn model, else the baseline) and store a
    campaign whose audience is everyone at or above `min_churn_risk`."""
    existing = Campaign.objects.filter(run_id=run_pk).first()
    if existing is not None:
        return existing
    if not 0 <= min_churn_risk <= 1:
        raise DataValidationError("min_churn_risk must be between 0 and 1.")
    model = (
        ModelVersion.objects.filter(organization_id=organization_id, kind=EyesModel.CHURN)
        .order_by("-version")
        .first()
    )
    parameters = model.parameters if model else training.BASELINE_CHURN_MODEL
    features, _, emails = _customer_matrix(organization_id)
    risks = training.churn_risk(features, parameters) if len(features) else np.array([])
    # One person seen on several platforms counts once, at their highest risk.
    audience: dict[str, float] = {}
    for email, risk in zip(emails, risks.tolist(), strict=True):
        if risk >= min_churn_risk:
            audience[email] = max(risk, audience.get(email, 0.0))
    with transaction.atomic():
        campaign = Campaign.objects.create(
            organization_id=organization_id,
            name=name,
            channel=channel,
            min_churn_risk=min_churn_risk,
            scored_with=model,
            run=WorkflowRun.objects.get(pk=run_pk),
        )
        CampaignMember.objects.bulk_create(
            [
                CampaignMember(campaign=campaign, email=email, churn_risk=round(risk, 4))
                for email, risk in sorted(audience.items())
            ]
        )
    return campaign
