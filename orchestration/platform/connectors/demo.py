"""`demo`: a deterministic stand-in for the marketing platforms' APIs (the default connector).

The same client and platform always yield the same customers, so syncs are repeatable and
tests can check exact effects. Customers share e-mail addresses across platforms (one person
seen by GA4 and HubSpot is one audience member), and churn depends on the metrics, so the
churn model has a real signal to learn. Each customer is generated from its own seed, so any
page costs the same however far into a large volume it is.
"""

import math
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from .base import Page, Record, SyncTarget, nothing_while_idle

DEFAULT_CUSTOMERS = 200
MAX_CUSTOMERS = 1_000_000


class DemoConfigSerializer(serializers.Serializer):
    customers = serializers.IntegerField(
        min_value=0,
        max_value=MAX_CUSTOMERS,
        default=DEFAULT_CUSTOMERS,
        help_text="How many customers the generator has for each platform.",
    )
    page_size = serializers.IntegerField(min_value=1, max_value=1000, default=200)


def demo_customer(*, client_key: str, platform: str, index: int) -> Record:
    rng = random.Random(f"{client_key}:{platform}:{index}")
    domain = client_key.split("@")[-1] if "@" in client_key else "example.com"
    sessions = max(0, int(rng.gauss(30, 15)))
    spend = round(max(0.0, rng.gauss(120, 80)), 2)
    recency = int(rng.expovariate(1 / 25))
    tickets = int(rng.expovariate(1 / 1.5))
    logit = -1.0 + 0.06 * recency - 0.05 * sessions + 0.4 * tickets - 0.004 * spend
    return Record(
        external_id=f"{platform}-{index:05d}",
        email=f"customer{index:05d}@{domain}",
        sessions=sessions,
        spend=Decimal(f"{spend:.2f}"),
        days_since_last_activity=recency,
        support_tickets=tickets,
        churned=rng.random() < 1 / (1 + math.exp(-logit)),
    )


class DemoConnector:
    name = "demo"
    label = "Demo generator"
    config_serializer = DemoConfigSerializer
    uses_credentials = False
    resumes_mid_read = True

    def __init__(
        self, *, config: dict[str, Any], credentials: dict[str, str] | None, target: SyncTarget
    ) -> None:
        self.customers, self.page_size = config["customers"], config["page_size"]
        self.target = target

    def fetch_page(self, cursor: str | None, idle: Callable[[], None] = nothing_while_idle) -> Page:
        # The cursor is the offset; an unreadable one (another connector's) starts over.
        start = int(cursor) if cursor and cursor.isdigit() else 0
        end = min(start + self.page_size, self.customers)
        records = [
            demo_customer(
                client_key=self.target.client_key, platform=self.target.platform, index=index
            )
            for index in range(start, end)
        ]
        return Page(records=records, next_cursor=str(end) if end < self.customers else None)

    def close(self) -> None:
        pass

    def said(self) -> list[str]:
        return []
