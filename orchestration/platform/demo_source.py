"""A deterministic stand-in for the marketing platforms' APIs.

The same client and platform always yield the same customers, so syncs are repeatable and
tests can check exact effects. Customers share e-mail addresses across platforms (one person
seen by GA4 and HubSpot is one audience member), and churn depends on the metrics, so the
churn model has a real signal to learn.
"""

import math
import random
from dataclasses import dataclass

CUSTOMERS_PER_PLATFORM = 200


@dataclass(frozen=True)
class CustomerMetrics:
    external_id: str
    email: str
    sessions: int
    spend: float
    days_since_last_activity: int
    support_tickets: int
    churned: bool


def fetch_customers(
    *, client_key: str, platform: str, count: int = CUSTOMERS_PER_PLATFORM
) -> list[CustomerMetrics]:
    rng = random.Random(f"{client_key}:{platform}")
    domain = client_key.split("@")[-1] if "@" in client_key else "example.com"
    customers = []
    for index in range(count):
        sessions = max(0, int(rng.gauss(30, 15)))
        spend = round(max(0.0, rng.gauss(120, 80)), 2)
        recency = int(rng.expovariate(1 / 25))
        tickets = int(rng.expovariate(1 / 1.5))
        logit = -1.0 + 0.06 * recency - 0.05 * sessions + 0.4 * tickets - 0.004 * spend
        churned = rng.random() < 1 / (1 + math.exp(-logit))
        customers.append(
            CustomerMetrics(
                external_id=f"{platform}-{index:05d}",
                email=f"customer{index:05d}@{domain}",
                sessions=sessions,
                spend=spend,
                days_since_last_activity=recency,
                support_tickets=tickets,
                churned=churned,
            )
        )
    return customers
