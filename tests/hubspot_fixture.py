"""HubSpot's CRM v3 API for contacts, shaped as HubSpot documents it, served to the real
`source-hubspot` connector through tests/https_fixture.py.

What the connector asks, and what is answered:
- `GET /properties/v2/<object>/properties`: the properties the console reads (for every
  object: the connector builds each stream's schema from them);
- `GET /crm/v3/schemas`: no custom objects;
- `GET /crm/v3/objects/contact?limit=&after=&properties=...`: a page of contacts
  (`{"results": [{"id", "properties": {...}, "createdAt", "updatedAt", "archived"}],
  "paging": {"next": {"after": ...}}}`);
- `POST /crm/v3/objects/contact/search`: the same, filtered on `lastmodifieddate` >= the
  filter's value (an incremental sync), paged by `after` in the body;
- anything else: an empty page.
Contacts carry HubSpot's standard properties: `email`, `hs_analytics_num_visits` (sessions),
`total_revenue`, `notes_last_updated` (last activity), and a property of the customer's own,
`churned` (HubSpot has no standard churn flag).
"""

from datetime import UTC, datetime, timedelta
from typing import Any

PROPERTIES = [
    ("email", "string", "text"),
    ("firstname", "string", "text"),
    ("hs_analytics_num_visits", "number", "number"),
    ("total_revenue", "number", "number"),
    ("num_associated_tickets", "number", "number"),
    ("notes_last_updated", "datetime", "date"),
    ("churned", "bool", "booleancheckbox"),
    ("createdate", "datetime", "date"),
    ("lastmodifieddate", "datetime", "date"),
]
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def hubspot_contacts(count: int) -> list[dict[str, Any]]:
    contacts = []
    for index in range(count):
        modified = NOW - timedelta(days=count - index)
        contacts.append(
            {
                "id": str(1000 + index),
                "properties": {
                    "email": f"contact{index:04d}@hubspot-customer.example",
                    "firstname": f"Contact {index}",
                    "hs_analytics_num_visits": str(index % 40),
                    "total_revenue": f"{index * 3.5 % 900:.2f}",
                    "num_associated_tickets": str(index % 3),
                    "notes_last_updated": _iso(NOW - timedelta(days=index % 200)),
                    # Those quiet for over 120 days left: a churn model has something to learn.
                    "churned": "true" if index % 200 > 120 else "false",
                    "createdate": _iso(modified - timedelta(days=30)),
                    "lastmodifieddate": _iso(modified),
                    "hs_object_id": str(1000 + index),
                },
                "createdAt": _iso(modified - timedelta(days=30)),
                "updatedAt": _iso(modified),
                "archived": False,
            }
        )
        properties = contacts[-1]["properties"]
        if index % 50 == 7:  # properties nobody filled in: HubSpot sends them as null
            for name in ("hs_analytics_num_visits", "total_revenue", "num_associated_tickets"):
                properties[name] = None
            properties["churned"] = None
        if index % 125 == 3:  # a contact with no e-mail address
            properties["email"] = None
    return contacts


class HubSpotApi:
    """`route` for HttpsFixture: HubSpot's answers over `contacts`."""

    def __init__(self, contacts: list[dict[str, Any]], token: str) -> None:
        self.contacts = contacts
        self.token = token

    def route(self, method: str, path: str, query: dict[str, str], body: Any):
        if path.startswith("/properties/v2/") and path.endswith("/properties"):
            # Every object gets the contacts' properties (the connector builds each stream's
            # schema from them; it only reads contacts here).
            return 200, [
                {
                    "name": name,
                    "label": name,
                    "type": kind,
                    "fieldType": field,
                    "groupName": "contactinformation",
                }
                for name, kind, field in PROPERTIES
            ]
        if path == "/crm/v3/schemas":
            return 200, {"results": []}
        if path == "/crm/v3/objects/contact" and method == "GET":
            return 200, self._page(self.contacts, query.get("after"), int(query.get("limit", 100)))
        if path == "/crm/v3/objects/contact/search" and method == "POST":
            since = _filter_value(body or {})
            chosen = [
                c
                for c in self.contacts
                if since is None or c["properties"]["lastmodifieddate"] >= since
            ]
            return 200, self._page(
                chosen, (body or {}).get("after"), int((body or {}).get("limit", 100))
            )
        return 200, {"results": [], "paging": {}}

    @staticmethod
    def _page(contacts: list[dict], after: Any, limit: int) -> dict:
        start = int(after or 0)
        page = contacts[start : start + limit]
        answer: dict[str, Any] = {"results": page}
        if start + limit < len(contacts):
            answer["paging"] = {"next": {"after": str(start + limit)}}
        return answer


def _filter_value(body: dict) -> str | None:
    """The `lastmodifieddate` GTE filter of a search body, as an ISO time, if any."""
    for group in body.get("filterGroups") or []:
        for condition in group.get("filters") or []:
            if condition.get("propertyName") in ("lastmodifieddate", "hs_lastmodifieddate"):
                value = condition.get("value")
                if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
                    return _iso(datetime.fromtimestamp(int(value) / 1000, tz=UTC))
                return value
    return None
