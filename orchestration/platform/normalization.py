"""From raw records to the console's customers: one mapping per source, written as data.

A sync through a source connector keeps what it read as raw records (`RawRecord`, per
integration, stream and primary key); normalization then upserts the client's customers
for the integration's platform (`SyncedRecord`) with the features EYES trains on: `email`,
`sessions`, `spend`, `days_since_last_activity`, `support_tickets`, `churned`. Report
sources (analytics, ads) have no customers: theirs become the client's daily metrics
(`metrics.py`). A source with no mapping keeps its raw records only, and says so in the
sync's result. What a source can't provide is named in its mapping's `derived` or `notes`,
not invented silently.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from orchestration.models import Integration, RawRecord, SyncedRecord

from .connectors.base import Record
from .connectors.record_fields import RECORD_FIELDS, at, customer_from
from .customers import customers_upsert
from .metrics import DailyMetrics, metrics_normalize

BATCH = 2000


@dataclass(frozen=True)
class DaysSince:
    """A count of days from a date in the record (the first of `paths` that is set) to now."""

    paths: tuple[str, ...]


# In `FieldMapping.unset`: a record without this field is not a customer (it is skipped).
SKIP = object()


@dataclass(frozen=True)
class FieldMapping:
    """Customers are one stream's records; each of the console's fields is at a dotted path
    in them, or is the days since a date in them (checked and converted as
    `connectors.record_fields` does).

    `unset` says what a field is when the record has no value for it (absent or null, as
    CRMs leave properties nobody filled in), or SKIP; without an entry, such a record fails
    the sync, naming the field."""

    stream: str
    fields: dict[str, "str | DaysSince"]
    derived: tuple[str, ...] = ()
    unset: dict[str, Any] = field(default_factory=dict)

    @property
    def streams(self) -> frozenset[str]:
        return frozenset({self.stream})


@dataclass(frozen=True)
class ShopMapping:
    """Customers of a shop: its people, their orders and the products ordered.

    sessions: the person's orders (every cart started); spend: the prices of the products
    of orders purchased and not returned; support_tickets: returned orders;
    days_since_last_activity: since the person's latest cart, purchase or return (or since
    they were created, with no orders); churned: no activity for `churn_after_days`."""

    people: str
    person_id: str
    person_email: str
    person_created: str
    orders: str
    order_person: str
    order_product: str
    order_times: tuple[str, ...]  # any of them marks activity
    order_purchased: str
    order_returned: str
    products: str
    product_id: str
    product_price: str
    churn_after_days: int
    # What the source doesn't have, and how the mapping fills it in.
    derived: tuple[str, ...]

    @property
    def streams(self) -> frozenset[str]:
        return frozenset({self.people, self.orders, self.products})


MAPPINGS: dict[str, FieldMapping | ShopMapping | DailyMetrics] = {
    # A manifest names its stream `customers` and shapes its records to the console's field
    # names with its own transformations (AddFields, RemoveFields): the mapping is the
    # manifest's to write, once per API.
    "declarative": FieldMapping("customers", {name: name for name in RECORD_FIELDS}),
    # HubSpot's contacts (the connector flattens each property to `properties_<name>`).
    "hubspot": FieldMapping(
        "contacts",
        {
            "id": "id",
            "email": "properties_email",
            "sessions": "properties_hs_analytics_num_visits",
            "spend": "properties_total_revenue",
            "days_since_last_activity": DaysSince(
                ("properties_notes_last_updated", "properties_lastmodifieddate")
            ),
            "support_tickets": "properties_num_associated_tickets",
            "churned": "properties_churned",
        },
        derived=(
            "days_since_last_activity: from the last activity date (notes_last_updated), or "
            "the last modification when there is none",
            "churned: a contact property the customer keeps (HubSpot has no standard one)",
        ),
        # HubSpot leaves a property nobody set null; a contact without an e-mail is not one
        # a campaign can reach.
        unset={
            "email": SKIP,
            "sessions": 0,
            "spend": 0,
            "support_tickets": 0,
            "churned": False,
        },
    ),
    # Salesforce's contacts (the connector names each field as Salesforce does).
    "salesforce": FieldMapping(
        "Contact",
        {
            "id": "Id",
            "email": "Email",
            "sessions": "NumberOfSessions__c",
            "spend": "TotalSpend__c",
            "days_since_last_activity": DaysSince(("LastActivityDate", "LastModifiedDate")),
            "support_tickets": "OpenCases__c",
            "churned": "Churned__c",
        },
        derived=(
            "days_since_last_activity: from the last activity (LastActivityDate), or the "
            "last modification when there is none",
            "sessions, spend, support_tickets, churned: custom Contact fields the customer "
            "keeps (NumberOfSessions__c, TotalSpend__c, OpenCases__c, Churned__c); Salesforce "
            "has no standard ones, so without them they count as none",
        ),
        unset={
            "email": SKIP,
            "sessions": 0,
            "spend": 0,
            "support_tickets": 0,
            "churned": False,
        },
    ),
    # Analytics and ads report per day, not per customer: their syncs make the client's
    # daily metrics (orchestration.platform.metrics), summed over properties, campaigns and
    # videos.
    "google-analytics-data-api": DailyMetrics(
        "website_overview",
        day="date",
        metrics={
            "users": "totalUsers",
            "new_users": "newUsers",
            "sessions": "sessions",
            "page_views": "screenPageViews",
        },
        notes=("GA4 keeps no e-mail addresses (its terms forbid personal data): no customers",),
    ),
    "tiktok-marketing": DailyMetrics(
        "campaigns_reports_daily",
        day="stat_time_day",
        metrics={
            "spend": "metrics.spend",
            "impressions": "metrics.impressions",
            "clicks": "metrics.clicks",
            "reach": "metrics.reach",
        },
        notes=("TikTok reports campaigns, not customers",),
    ),
    "youtube-analytics": DailyMetrics(
        "channel_basic_a3",
        day="date",
        metrics={
            "views": "views",
            "watch_time_minutes": "watch_time_minutes",
            "likes": "likes",
            "subscribers_gained": "subscribers_gained",
        },
        notes=("YouTube reports channels and videos, not customers",),
    ),
    "faker": ShopMapping(
        people="users",
        person_id="id",
        person_email="email",
        person_created="created_at",
        orders="purchases",
        order_person="user_id",
        order_product="product_id",
        order_times=("added_to_cart_at", "purchased_at", "returned_at"),
        order_purchased="purchased_at",
        order_returned="returned_at",
        products="products",
        product_id="id",
        product_price="price",
        churn_after_days=180,
        derived=(
            "sessions: orders (faker has no sessions)",
            "support_tickets: returned orders (faker has no tickets)",
            "churned: no cart, purchase or return in 180 days (faker has no churn flag)",
        ),
    ),
}


def streams_read(source: str) -> frozenset[str] | None:
    """The streams normalizing `source`'s records reads (None: it has no mapping)."""
    mapping = MAPPINGS.get(source)
    return mapping.streams if mapping is not None else None


def streams_to_read(source: str, chosen: dict[str, str]) -> dict[str, str | None] | None:
    """What a sync of `source` reads, each stream with its sync mode: the streams the
    integration chose, and those its normalization reads (in the source's best mode unless
    chosen); every stream the source offers when neither names any (None)."""
    needed = streams_read(source)
    if needed is None and not chosen:
        return None
    return {**dict.fromkeys(sorted(needed or ())), **chosen}


@dataclass(frozen=True)
class Normalized:
    customers: int  # the client's customers from the platform after normalizing
    created: int
    updated: int
    mapped: bool  # False when the source has no mapping (raw records only)
    metric_days: int = 0  # a report source's days of metrics after normalizing


def customers_normalize(integration: Integration, *, now: datetime | None = None) -> Normalized:
    """Upsert the client's customers of the integration's platform from its raw records."""
    mapping = MAPPINGS.get(integration.connector)
    records = SyncedRecord.objects.filter(
        client_id=integration.client_id, platform=integration.platform
    )
    if mapping is None:
        return Normalized(records.count(), 0, 0, mapped=False)
    if isinstance(mapping, DailyMetrics):
        metrics = metrics_normalize(integration, mapping)
        return Normalized(records.count(), 0, 0, mapped=True, metric_days=metrics.days)
    now = now or datetime.now(UTC)
    customers = (
        _shop_customers(integration, mapping, now)
        if isinstance(mapping, ShopMapping)
        else _mapped_customers(integration, mapping, now)
    )
    created = updated = 0
    batch: list[Record] = []
    for customer in customers:
        batch.append(customer)
        if len(batch) == BATCH:
            made, changed = _upsert(integration, batch)
            created, updated, batch = created + made, updated + changed, []
    if batch:
        made, changed = _upsert(integration, batch)
        created, updated = created + made, updated + changed
    return Normalized(records.count(), created, updated, mapped=True)


def _raw(integration: Integration, stream: str) -> Iterator[dict[str, Any]]:
    rows = RawRecord.objects.filter(integration=integration, stream=stream).values_list(
        "data", flat=True
    )
    return rows.iterator(chunk_size=BATCH)


def _mapped_customers(
    integration: Integration, mapping: FieldMapping, now: datetime
) -> Iterator[Record]:
    # A derived field is computed into the record under a name of its own, then read as any.
    paths = {
        name: f"__{name}" if isinstance(source, DaysSince) else source
        for name, source in mapping.fields.items()
    }
    derived = {
        name: source for name, source in mapping.fields.items() if isinstance(source, DaysSince)
    }
    rows = RawRecord.objects.filter(integration=integration, stream=mapping.stream)
    for pk, data in rows.values_list("pk", "data").iterator(chunk_size=BATCH):
        if isinstance(data, dict) and (derived or mapping.unset):
            data = {**data}
            for name, source in derived.items():
                moments = (_moment(data.get(path)) for path in source.paths)
                moment = next((m for m in moments if m is not None), None)
                if moment is not None:
                    data[f"__{name}"] = max(0, (now - moment).days)
            if not _unset_filled(data, paths, mapping.unset):
                continue
        yield customer_from(data, paths, f"{mapping.stream} record #{pk}")


def _unset_filled(data: dict[str, Any], paths: dict[str, str], unset: dict[str, Any]) -> bool:
    """Put each unset field's stated value into `data` (a copy); False: skip the record."""
    for name, value in unset.items():
        try:
            present = at(data, paths[name]) is not None
        except KeyError:
            present = False
        if present:
            continue
        if value is SKIP:
            return False
        _put(data, paths[name], value)
    return True


def _put(document: dict[str, Any], path: str, value: Any) -> None:
    """Set the dotted `path` in `document`, copying the objects on the way (not the row's)."""
    *parents, last = path.split(".")
    for part in parents:
        child = document.get(part)
        document[part] = child = {**child} if isinstance(child, dict) else {}
        document = child
    document[last] = value


def _shop_customers(
    integration: Integration, mapping: ShopMapping, now: datetime
) -> Iterator[Record]:
    prices = {
        str(product.get(mapping.product_id)): _decimal(product.get(mapping.product_price))
        for product in _raw(integration, mapping.products)
    }
    # Per person: [orders, spend, returns, latest activity].
    activity: dict[str, list[Any]] = {}
    for order in _raw(integration, mapping.orders):
        person = str(order.get(mapping.order_person))
        totals = activity.setdefault(person, [0, Decimal(0), 0, None])
        totals[0] += 1
        if order.get(mapping.order_returned):
            totals[2] += 1
        elif order.get(mapping.order_purchased):
            totals[1] += prices.get(str(order.get(mapping.order_product)), Decimal(0))
        times = [_moment(order.get(name)) for name in mapping.order_times]
        latest = max((t for t in times if t is not None), default=None)
        if latest is not None and (totals[3] is None or latest > totals[3]):
            totals[3] = latest
    for person in _raw(integration, mapping.people):
        person_id, email = person.get(mapping.person_id), person.get(mapping.person_email)
        if person_id is None or not isinstance(email, str) or "@" not in email:
            continue  # not a customer the console can address
        orders, spend, returns, latest = activity.get(str(person_id), [0, Decimal(0), 0, None])
        latest = latest or _moment(person.get(mapping.person_created)) or now
        days = max(0, (now - latest).days)
        yield Record(
            external_id=str(person_id),
            email=email,
            sessions=orders,
            spend=spend.quantize(Decimal("0.01")),
            days_since_last_activity=days,
            support_tickets=returns,
            churned=days > mapping.churn_after_days,
        )


def _upsert(integration: Integration, customers: list[Record]) -> tuple[int, int]:
    with transaction.atomic():
        return customers_upsert(
            client_id=integration.client_id, platform=integration.platform, customers=customers
        )


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
