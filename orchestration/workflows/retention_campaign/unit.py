from django.db.models import Count
from rest_framework import serializers

from orchestration.contract.vocabulary import Channel
from orchestration.models import Campaign, WorkflowRun
from orchestration.platform.services import CampaignModelError, retention_campaign_models
from orchestration.workflows.eyes_retrain.unit import EyesParamsSerializer
from orchestration.workflows.input_schema import WorkflowStartSerializer
from orchestration.workflows.units import ResultTable, RunRecord, Samples, WorkflowUnit

from .activities import ACTIVITIES
from .definition import DEFINITION, CampaignResult
from .workflow import RetentionCampaignWorkflow

EITHER = "Give either min_churn_risk or segment."
BOTH = "Give min_churn_risk or segment, not both."


class RetentionCampaignStartSerializer(WorkflowStartSerializer):
    """The audience is chosen by exactly one of `min_churn_risk` and `segment`; the models it
    needs (an active churn model, and an active clustering model with that segment for a
    segment) are checked here for a clear 400, and again when the campaign is made."""

    name = serializers.CharField(max_length=200)
    channel = serializers.ChoiceField(choices=Channel.choices())
    min_churn_risk = serializers.FloatField(
        min_value=0.0,
        max_value=1.0,
        required=False,
        allow_null=True,
        help_text="From 0 to 1: the customers at or above this churn risk (or give a segment).",
    )
    segment = serializers.IntegerField(
        min_value=0,
        max_value=EyesParamsSerializer().fields["clusters"].max_value - 1,
        required=False,
        allow_null=True,
        help_text="A segment (from 0) of the active clustering model, instead of a churn risk.",
    )
    dry_run = serializers.BooleanField(
        default=False,
        help_text="Report the audience's size and churn risks without creating the campaign.",
    )

    def validate(self, data):
        # The run's input holds every field, the one not chosen as null.
        data.setdefault("min_churn_risk", None)
        data.setdefault("segment", None)
        if data["min_churn_risk"] is None and data["segment"] is None:
            raise serializers.ValidationError({"min_churn_risk": [EITHER], "segment": [EITHER]})
        if data["min_churn_risk"] is not None and data["segment"] is not None:
            raise serializers.ValidationError({"min_churn_risk": [BOTH], "segment": [BOTH]})
        try:
            retention_campaign_models(
                organization=data["organization"],
                min_churn_risk=data["min_churn_risk"],
                segment=data["segment"],
            )
        except CampaignModelError as error:
            raise serializers.ValidationError({error.field: [str(error)]}) from None
        return data


def records(run: WorkflowRun) -> list[RunRecord]:
    campaign = (
        Campaign.objects.filter(run=run)
        .select_related("scored_with", "segmented_with")
        .annotate(size=Count("audience"))
        .first()
    )
    if campaign is None:
        return []
    found = [RunRecord("campaign", campaign, f"{campaign.size} members")]
    if campaign.scored_with:
        found.append(RunRecord("churn model", campaign.scored_with, "scored the audience"))
    if campaign.segmented_with:
        found.append(
            RunRecord("clustering model", campaign.segmented_with, f"segment {campaign.segment}")
        )
    return found


def _model(kind: str, version: int | None) -> str:
    # Campaigns run before models had an active version were scored by a baseline model.
    return f"{kind} model v{version}" if version else f"the baseline {kind} model"


def result_tables(run: WorkflowRun) -> list[ResultTable]:
    """The audience in numbers (a dry run's only outcome): its size, what chose it, and how
    its churn risks are distributed."""
    result = run.result or {}
    if "audience_size" not in result:
        return []
    params = run.input or {}
    chosen_by = (
        f"segment {params['segment']} "
        f"({_model('clustering', result.get('segmented_with_model_version'))})"
        if params.get("segment") is not None
        else f"churn risk ≥ {params.get('min_churn_risk')}"
    )
    summary = ResultTable(
        "Audience" + (" (dry run: no campaign created)" if result.get("dry_run") else ""),
        ["", ""],
        [
            ("customers", result["audience_size"]),
            ("chosen by", chosen_by),
            ("churn risk scored by", _model("churn", result.get("scored_with_model_version"))),
        ],
    )
    distribution = result.get("churn_risk_distribution") or []
    if not distribution:
        return [summary]
    rows = [(f"{b['from']:.1f} to {b['to']:.1f}", b["customers"]) for b in distribution]
    return [summary, ResultTable("Churn risk distribution", ["churn risk", "customers"], rows)]


SAMPLES = Samples(
    params=lambda client_id, tag: {
        "name": f"Win-back ({tag})",
        "channel": "email",
        "min_churn_risk": 0.6,
        "segment": None,
        "dry_run": False,
    },
    results={
        "create_retention_campaign": CampaignResult(
            campaign_id=9, audience_size=42, scored_with_model_version=2
        )
    },
    needs_models=("churn",),
)


UNIT = WorkflowUnit(
    definition=DEFINITION,
    workflow=RetentionCampaignWorkflow,
    activities=ACTIVITIES,
    start_serializer=RetentionCampaignStartSerializer,
    samples=SAMPLES,
    records=records,
    result_tables=result_tables,
)
