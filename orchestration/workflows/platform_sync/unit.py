from rest_framework import serializers

from orchestration.contract.vocabulary import Platform
from orchestration.models import Client, Integration, WorkflowRun
from orchestration.workflows.input_schema import OrganizationClientField, WorkflowStartSerializer
from orchestration.workflows.units import ResultTable, RunLog, RunRecord, Samples, WorkflowUnit

from .activities import ACTIVITIES
from .definition import DEFINITION, NormalizeResult, SyncResult
from .workflow import PlatformSyncWorkflow


class PlatformSyncStartSerializer(WorkflowStartSerializer):
    client = OrganizationClientField(source="client_id")
    platform = serializers.ChoiceField(choices=Platform.choices())
    full = serializers.BooleanField(
        default=False,
        help_text="Read everything again instead of continuing from the last sync's cursor.",
    )

    def validate(self, data):
        organization, client_id = data["organization"], data["client_id"]
        if Integration.objects.filter(
            client_id=client_id, client__organization=organization, platform=data["platform"]
        ).exists():
            return data
        # Say precisely what is wrong; only bad input pays for these queries.
        client = Client.objects.filter(pk=client_id, organization=organization).first()
        if client is None:
            raise serializers.ValidationError(
                {"client": [f"No client with id {client_id} in {organization.slug}."]}
            )
        raise serializers.ValidationError(
            {"platform": [f"{client.name} has no {data['platform']} integration."]}
        )


def records(run: WorkflowRun) -> list[RunRecord]:
    integration = (
        Integration.objects.select_related("client")
        .filter(
            client_id=run.input.get("client_id"),
            client__organization_id=run.organization_id,
            platform=run.input.get("platform", ""),
        )
        .first()
    )
    if integration is None:
        return []
    result = run.result or {}
    numbers = (
        f"{integration.connector}: {result['pages']} pages, {result['fetched']} fetched, "
        f"{result['created']} new, {result['updated']} updated"
        if "pages" in result
        else integration.connector
    )
    return [
        RunRecord("client", integration.client, run.input.get("platform", "")),
        RunRecord("integration", integration, numbers),
    ]


def logs(run: WorkflowRun) -> list[RunLog]:
    """What the source connector said in each attempt (its last log lines, secrets masked)."""
    kept = list(run.connector_logs.all())
    return [
        RunLog(f"Connector log{f', attempt {number}' if len(kept) > 1 else ''}", log.lines)
        for number, log in enumerate(kept, 1)
    ]


def result_tables(run: WorkflowRun) -> list[ResultTable]:
    result = run.result or {}
    if "pages" not in result:
        return []  # a sync from before syncs counted their pages
    return [
        ResultTable(
            "Sync" + (" (full: read from the beginning)" if result.get("full") else ""),
            ["", ""],
            [
                ("pages read", result["pages"]),
                ("records fetched", result["fetched"]),
                ("created", result["created"]),
                ("updated", result["updated"]),
                *(
                    [
                        ("customers made of them", result["customers_created"]),
                        ("customers updated from them", result["customers_updated"]),
                    ]
                    if result.get("normalized")
                    else []
                ),
                (f"{result['platform']} customers of the client now", result["records"]),
            ],
        )
    ]


SAMPLES = Samples(
    params=lambda client_id, tag: {"client_id": client_id, "platform": "ga4", "full": False},
    results={
        "sync_platform_data": SyncResult(client_id=101, platform="ga4", records=5, created=5),
        "normalize_platform_data": NormalizeResult(customers=5, created=0, updated=0, mapped=False),
    },
)


UNIT = WorkflowUnit(
    definition=DEFINITION,
    workflow=PlatformSyncWorkflow,
    activities=ACTIVITIES,
    start_serializer=PlatformSyncStartSerializer,
    samples=SAMPLES,
    records=records,
    result_tables=result_tables,
    logs=logs,
)
