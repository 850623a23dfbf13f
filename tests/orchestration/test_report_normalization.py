"""The other platforms' mappings, on raw records shaped as their pinned connectors emit them
(field names from the connectors' own manifests and schemas): TikTok's campaign reports,
GA4's website overview and YouTube's channel report add up per day into the client's
metrics, shown on the client's page; Salesforce's contacts become customers, with what
Salesforce doesn't have counted as none and contacts without an e-mail skipped."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from orchestration.models import Client, Integration, PlatformMetric, RawRecord, SyncedRecord
from orchestration.platform.normalization import customers_normalize

NOW = datetime.now(UTC)
TODAY = NOW.date()


@pytest.fixture
def client_of(orgs):
    return Client.objects.create(
        organization=orgs["acme"], name="Reports", email="reports@acme.example", status="active"
    )


def integration_with(client, platform: str, connector: str, stream: str, records: list[dict]):
    integration = Integration.objects.create(client=client, platform=platform, connector=connector)
    RawRecord.objects.bulk_create(
        RawRecord(integration=integration, stream=stream, key=str(n), data=data)
        for n, data in enumerate(records)
    )
    return integration


def metrics(integration) -> dict[tuple[date, str], Decimal]:
    return {
        (m.day, m.name): m.value for m in PlatformMetric.objects.filter(integration=integration)
    }


def test_tiktok_campaign_reports_add_up_per_day_into_the_clients_metrics(client_of, client, users):
    records = [
        {
            "campaign_id": campaign,
            "stat_time_day": f"{TODAY - timedelta(days=days_ago)} 00:00:00",
            "dimensions": {"campaign_id": campaign},
            "metrics": {
                "spend": f"{10 * campaign + days_ago}.25",
                "impressions": str(1000 * campaign),
                "clicks": "7",
                "reach": None,  # "-" in TikTok's answer; the connector makes it null
                "campaign_name": "Spring",
            },
        }
        for campaign in (1, 2)
        for days_ago in (1, 2, 3)
    ] + [{"campaign_id": 3, "stat_time_day": "not a day", "metrics": {"spend": "99"}}]
    tiktok = integration_with(
        client_of, "tiktok", "tiktok-marketing", "campaigns_reports_daily", records
    )

    normalized = customers_normalize(tiktok)
    assert normalized.mapped and normalized.metric_days == 3 and normalized.customers == 0
    found = metrics(tiktok)
    yesterday = TODAY - timedelta(days=1)
    assert found[(yesterday, "spend")] == Decimal("32.50")  # 11.25 + 21.25
    assert found[(yesterday, "impressions")] == 3000
    assert found[(yesterday, "clicks")] == 14 and found[(yesterday, "reach")] == 0
    assert len(found) == 3 * 4  # three days, four metrics; the record without a day skipped

    customers_normalize(tiktok)  # again: the same rows, updated, not doubled
    assert metrics(tiktok) == found

    client.force_login(users["acme-manager"])
    page = client.get(f"/admin/orchestration/client/{client_of.pk}/change/").content.decode()
    assert "metrics, last 30 days" in page.lower()
    assert "<td>spend</td><td>103.50</td><td>3</td>" in page.replace("\n", "")


def test_ga4_and_youtube_reports_become_daily_metrics(client_of):
    ga4 = integration_with(
        client_of,
        "ga4",
        "google-analytics-data-api",
        "website_overview",
        [
            {
                "property_id": property_id,
                "date": (TODAY - timedelta(days=2)).strftime("%Y%m%d"),
                "totalUsers": 40,
                "newUsers": 5,
                "sessions": 61,
                "screenPageViews": 300,
            }
            for property_id in ("111", "222")
        ],
    )
    youtube = integration_with(
        client_of,
        "youtube",
        "youtube-analytics",
        "channel_basic_a3",
        [
            {"date": str(TODAY - timedelta(days=1)), "video_id": video, "views": 100, "likes": 3}
            for video in ("a", "b")
        ],
    )
    customers_normalize(ga4)
    customers_normalize(youtube)
    day = TODAY - timedelta(days=2)
    assert metrics(ga4)[(day, "sessions")] == 122 and metrics(ga4)[(day, "users")] == 80
    views = metrics(youtube)
    assert views[(TODAY - timedelta(days=1), "views")] == 200
    assert views[(TODAY - timedelta(days=1), "watch_time_minutes")] == 0  # not reported


def test_salesforce_contacts_become_customers(client_of):
    contacts = [
        {
            "Id": "003A",
            "Email": "ana@example.com",
            "LastActivityDate": str(TODAY - timedelta(days=12)),
            "LastModifiedDate": f"{TODAY}T08:00:00.000+0000",
            "NumberOfSessions__c": 9,
            "TotalSpend__c": 120.5,
            "OpenCases__c": 2,
            "Churned__c": True,
        },
        # A plain org without the custom fields, and no activity yet.
        {
            "Id": "003B",
            "Email": "ben@example.com",
            "LastActivityDate": None,
            "LastModifiedDate": (NOW - timedelta(days=3, hours=1)).isoformat(),
        },
        {"Id": "003C", "Email": None, "LastModifiedDate": f"{TODAY}T08:00:00.000+0000"},
    ]
    salesforce = integration_with(client_of, "salesforce", "salesforce", "Contact", contacts)
    normalized = customers_normalize(salesforce)
    assert normalized.mapped and normalized.customers == normalized.created == 2
    ana, ben = SyncedRecord.objects.filter(client=client_of).order_by("external_id")
    assert (ana.email, ana.sessions, ana.spend, ana.support_tickets, ana.churned) == (
        "ana@example.com",
        9,
        Decimal("120.50"),
        2,
        True,
    )
    assert ana.days_since_last_activity == 12
    assert (ben.sessions, ben.spend, ben.support_tickets, ben.churned) == (0, 0, 0, False)
    assert ben.days_since_last_activity == 3
