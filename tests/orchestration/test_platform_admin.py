"""The platform records' admin pages: what each shows, that each is scoped to the user's
organizations, that lists make the same queries however many rows they show, and the choice
labels and start-form defaults those pages rely on."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from orchestration.contract.vocabulary import Channel, Platform
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
from orchestration.services.memberships import membership_set_role

_run_numbers = itertools.count()


def make_run(organization, workflow_type: str = "eyes-retrain", **fields) -> WorkflowRun:
    return WorkflowRun.objects.create(
        organization=organization,
        workflow_type=workflow_type,
        workflow_id=f"{workflow_type}-{next(_run_numbers)}",
        status="COMPLETED",
        **fields,
    )


def make_version(
    organization, kind: str, version: int, metrics: dict, active: bool = False
) -> ModelVersion:
    return ModelVersion.objects.create(
        organization=organization,
        kind=kind,
        version=version,
        metrics=metrics,
        training_rows=40,
        active=active,
        run=make_run(organization),
    )


def make_campaign(organization, name: str, members: int, scored_with=None) -> Campaign:
    campaign = Campaign.objects.create(
        organization=organization,
        name=name,
        channel="sms",
        min_churn_risk=0.5,
        scored_with=scored_with,
        run=make_run(organization, "retention-campaign"),
    )
    CampaignMember.objects.bulk_create(
        CampaignMember(campaign=campaign, email=f"p{n}@{name}.example", churn_risk=0.5 + n / 1000)
        for n in range(members)
    )
    return campaign


@pytest.fixture
def acme(orgs, demo_client):
    """acme's records: the demo client with its onboarding and sync runs and its dashboard,
    two churn versions and a clustering version, and a campaign of 120 people."""
    onboarding = make_run(orgs["acme"], "client-onboarding")
    demo_client.created_by_run = onboarding
    demo_client.save(update_fields=["created_by_run"])
    sync = make_run(orgs["acme"], "platform-sync", input={"client_id": demo_client.pk})
    other_sync = make_run(orgs["acme"], "platform-sync", input={"client_id": demo_client.pk + 1})
    Dashboard.objects.create(
        client=demo_client,
        title="Acme demo overview",
        widgets=[{"type": "platform_summary", "platform": "hubspot"}, {"type": "churn_risk"}],
    )
    churn_v1 = make_version(orgs["acme"], "churn", 1, {"roc_auc": 0.71, "accuracy": 0.65})
    churn_v2 = make_version(
        orgs["acme"], "churn", 2, {"roc_auc": 0.8123, "accuracy": 0.77}, active=True
    )
    clustering = make_version(
        orgs["acme"],
        "clustering",
        1,
        {"silhouette": 0.4321, "cluster_sizes": [12, 30, 8]},
        active=True,
    )
    return {
        "client": demo_client,
        "integration": demo_client.integrations.get(platform="hubspot"),
        "onboarding": onboarding,
        "sync": sync,
        "other_sync": other_sync,
        "churn_v1": churn_v1,
        "churn_v2": churn_v2,
        "clustering": clustering,
        "campaign": make_campaign(orgs["acme"], "winback", 120, scored_with=churn_v2),
    }


def change_url(obj) -> str:
    return reverse(f"admin:orchestration_{obj._meta.model_name}_change", args=[obj.pk])


def list_url(model) -> str:
    return reverse(f"admin:orchestration_{model._meta.model_name}_changelist")


@pytest.fixture
def viewer(client, users):
    client.force_login(users["acme-viewer"])
    return client


def test_client_list_shows_integration_counts(viewer, acme):
    response = viewer.get(list_url(Client))
    assert response.status_code == 200
    [row] = response.context["cl"].result_list
    assert row.integration_count == 2
    assert "Acme demo" in response.text and "Active" in response.text


def test_client_page_shows_integrations_records_dashboard_and_runs(viewer, acme):
    client = acme["client"]
    response = viewer.get(change_url(client))
    assert response.status_code == 200
    page = response.text
    # The integrations inline, with each platform's record count.
    hubspot_records = SyncedRecord.objects.filter(client=client, platform="hubspot").count()
    [integrations] = response.context["inline_admin_formsets"]
    inline = {form.instance.platform: form.instance.record_count for form in integrations.formset}
    assert inline["hubspot"] == hubspot_records > 0
    assert "HubSpot" in page and "GA4" in page
    assert f"<td>{SyncedRecord.objects.filter(client=client).count()}</td>" in page
    assert "Acme demo overview" in page and "Platform summary: HubSpot" in page
    # The runs that touched it, and only those, each linking to its page.
    assert change_url(acme["onboarding"]) in page
    assert change_url(acme["sync"]) in page
    assert change_url(acme["other_sync"]) not in page


def test_a_client_with_nothing_yet_reads_as_empty_not_as_none(viewer, orgs):
    bare = Client.objects.create(
        organization=orgs["acme"], name="Bare", email="bare@acme.example", status="active"
    )
    page = viewer.get(change_url(bare)).text
    # Synced records, metrics, dashboard and runs: none of each, shown as the admin's "-".
    assert '<div class="readonly">None</div>' not in page
    assert page.count('<div class="readonly">-</div>') >= 4


def test_integration_pages(viewer, acme):
    integration = acme["integration"]
    response = viewer.get(list_url(Integration))
    assert response.status_code == 200
    records = {row.pk: row.record_count for row in response.context["cl"].result_list}
    assert records[integration.pk] == integration.client.records.filter(platform="hubspot").count()

    response = viewer.get(change_url(integration))
    assert response.status_code == 200
    assert change_url(acme["client"]) in response.text
    assert "HubSpot" in response.text


def test_model_version_list_shows_the_active_flag(viewer, acme, orgs):
    make_version(orgs["globex"], "churn", 7, {}, active=True)  # not acme's: not listed
    response = viewer.get(list_url(ModelVersion))
    assert response.status_code == 200
    active = {row.pk: row.active for row in response.context["cl"].result_list}
    assert active == {
        acme["churn_v1"].pk: False,
        acme["churn_v2"].pk: True,
        acme["clustering"].pk: True,
    }
    assert "0.8123" in response.text
    assert response.text.count('alt="True"') == 2  # the flag's icon, once per active row
    # The flag is the stored one, not "the newest": an older version may be the active one.
    ModelVersion.objects.filter(pk=acme["churn_v2"].pk).update(active=False)
    ModelVersion.objects.filter(pk=acme["churn_v1"].pk).update(active=True)
    response = viewer.get(list_url(ModelVersion), {"active__exact": "1", "kind": "churn"})
    assert [row.pk for row in response.context["cl"].result_list] == [acme["churn_v1"].pk]


def test_model_version_page_shows_metrics_as_a_table_and_links_its_run(viewer, acme):
    response = viewer.get(change_url(acme["clustering"]))
    assert response.status_code == 200
    page = response.text
    assert "<td>Silhouette</td><td>0.4321</td>" in page
    assert "<td>Cluster sizes</td><td>12, 30, 8</td>" in page
    assert change_url(acme["clustering"].run) in page

    page = viewer.get(change_url(acme["churn_v2"])).text
    assert "<td>ROC AUC</td><td>0.8123</td>" in page
    assert "<td>Accuracy</td><td>0.77</td>" in page


def test_campaign_pages_show_the_audience(viewer, acme):
    campaign = acme["campaign"]
    response = viewer.get(list_url(Campaign))
    assert response.status_code == 200
    [row] = response.context["cl"].result_list
    assert row.audience_size == 120
    assert "SMS" in response.text

    response = viewer.get(change_url(campaign))
    assert response.status_code == 200
    page = response.text
    assert "The 100 riskiest of 120." in page
    assert "p119@winback.example" in page  # the riskiest
    assert "p0@winback.example" not in page  # beyond the first 100
    assert change_url(campaign.run) in page
    assert change_url(acme["churn_v2"]) in page


RECORDS = ["client", "integration", "churn_v2", "campaign"]


@pytest.mark.parametrize("record", RECORDS)
def test_another_organization_neither_lists_nor_opens_acme_records(client, users, acme, record):
    client.force_login(users["globex-manager"])
    obj = acme[record]
    response = client.get(list_url(type(obj)))
    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == []
    assert client.get(change_url(obj)).status_code == 404
    assert client.get(change_url(obj) + "history/").status_code == 404


# --- query counts -----------------------------------------------------------------------------
def _grow(model, organization, n: int) -> None:
    """n more rows for `model`'s list, each with the related rows its columns show."""
    for i in range(n):
        if model in (Client, Integration):
            client = Client.objects.create(
                organization=organization, name=f"Client {i}", email=f"c{i}@example.com"
            )
            for platform in ("ga4", "tiktok"):
                Integration.objects.create(client=client, platform=platform)
        elif model is ModelVersion:
            make_version(organization, "churn", 10 + i, {"roc_auc": 0.5})
        else:
            make_campaign(organization, f"c{i}", 3, scored_with=ModelVersion.objects.first())


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("model", [Client, Integration, ModelVersion, Campaign])
def test_lists_make_the_same_queries_for_any_number_of_rows(viewer, acme, orgs, model):
    url = list_url(model)
    viewer.get(url)  # warm Django's per-process caches first
    before = _queries(viewer, url)
    _grow(model, orgs["acme"], 8)
    assert _queries(viewer, url) == before


# --- labels and the start form ----------------------------------------------------------------
def test_choice_labels_read_the_real_names():
    assert dict(Platform.choices()) == {
        "ga4": "GA4",
        "hubspot": "HubSpot",
        "salesforce": "Salesforce",
        "tiktok": "TikTok",
        "youtube": "YouTube",
    }
    assert dict(Channel.choices()) == {"email": "Email", "sms": "SMS", "push": "Push"}
    assert Platform("hubspot") is Platform.HUBSPOT and Platform.HUBSPOT == "hubspot"
    assert Integration(platform="ga4").get_platform_display() == "GA4"


START_URL = "/admin/orchestration/workflowrun/start/client-onboarding/"


def test_start_form_preselects_the_only_organization(client, users):
    client.force_login(users["acme-operator"])
    response = client.get(START_URL)
    assert response.status_code == 200
    assert '<option value="acme" selected>' in response.text


def test_start_form_leaves_a_choice_of_several_organizations_to_the_user(client, users, orgs):
    membership_set_role(
        organization=orgs["globex"], user=users["acme-operator"], role=Role.OPERATOR
    )
    client.force_login(users["acme-operator"])
    response = client.get(START_URL)
    assert response.status_code == 200
    assert response.context["form"]["organization"].value() is None
    assert '<option value="" selected>' in response.text
