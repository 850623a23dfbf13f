"""From report streams to the client's daily metrics: what analytics and ad platforms report
is not customers (GA4 keeps no e-mail addresses, TikTok and YouTube report per campaign or
video), so their syncs add up one report stream per day into `PlatformMetric` rows (one per
integration, day and metric), which the client's dashboard shows.

A mapping names the stream, the field holding the day, and each metric's dotted path;
values (numbers, or digit strings as TikTok sends them) are summed over the day's records
(campaigns, videos, countries, properties). A record without a readable day is skipped and
counted; a metric that isn't a number counts as nothing for that record.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from orchestration.models import Integration, PlatformMetric, RawRecord

from .connectors.record_fields import at

BATCH = 2000
# Larger sums are not a day's metric: the value is refused rather than stored wrapped.
MAX_VALUE = Decimal("1e15")


@dataclass(frozen=True)
class DailyMetrics:
    stream: str
    day: str  # the dotted path of the record's day ("2026-01-31", "20260131", with a time)
    metrics: dict[str, str]  # metric name -> dotted path in the record
    # What the platform has, and what it doesn't (said, not invented).
    notes: tuple[str, ...] = ()

    @property
    def streams(self) -> frozenset[str]:
        return frozenset({self.stream})


@dataclass(frozen=True)
class MetricsNormalized:
    days: int  # days with metrics after normalizing
    created: int  # metric rows new
    updated: int
    skipped: int  # records without a readable day


def metrics_normalize(integration: Integration, mapping: DailyMetrics) -> MetricsNormalized:
    """Sum the mapping's stream per day into the integration's PlatformMetric rows."""
    totals: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    skipped = 0
    rows = RawRecord.objects.filter(integration=integration, stream=mapping.stream)
    for data in rows.values_list("data", flat=True).iterator(chunk_size=BATCH):
        day = _day(_value(data, mapping.day))
        if day is None:
            skipped += 1
            continue
        for name, path in mapping.metrics.items():
            totals[(day, name)] += _number(_value(data, path))
    created, updated = _upsert(integration, totals)
    days = PlatformMetric.objects.filter(integration=integration).values("day").distinct().count()
    return MetricsNormalized(days, created, updated, skipped)


def _value(data: Any, path: str) -> Any:
    try:
        return at(data, path)
    except KeyError:
        return None


def _day(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    text = value.strip()[:10]
    for pattern in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text if "-" in text else text[:8], pattern).date()
        except ValueError:
            continue
    return None


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return Decimal(0)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() and abs(number) < MAX_VALUE else Decimal(0)


def _upsert(integration: Integration, totals: dict[tuple[date, str], Decimal]) -> tuple[int, int]:
    keys = list(totals)
    created = updated = 0
    for start in range(0, len(keys), BATCH):
        batch = keys[start : start + BATCH]
        with transaction.atomic():
            existing = PlatformMetric.objects.filter(
                integration=integration,
                day__in={day for day, _ in batch},
                name__in={name for _, name in batch},
            ).values_list("day", "name")
            known = set(existing) & set(batch)
            PlatformMetric.objects.bulk_create(
                [
                    PlatformMetric(
                        integration=integration,
                        day=day,
                        name=name,
                        value=totals[(day, name)].quantize(Decimal("0.0001")),
                    )
                    for day, name in batch
                ],
                update_conflicts=True,
                unique_fields=["integration", "day", "name"],
                update_fields=["value"],
            )
        created += len(batch) - len(known)
        updated += len(known)
    return created, updated
