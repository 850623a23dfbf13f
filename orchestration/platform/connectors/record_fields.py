"""A customer record from a source's record: the console's fields found by dotted paths,
each checked and converted (counts may be digit strings, as HubSpot sends them; `churned` a
boolean or 0/1; `spend` a number or a decimal string). A failure names the record and the
field, never the value: records are personal data."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from .base import RECORD_VALUES, ConnectorFailure, Record

# The fields a source's record must have: its id, then the values.
RECORD_FIELDS = ("id", *RECORD_VALUES)
MAX_COUNT = 2**31 - 1
MAX_SPEND = Decimal("9999999999.99")


def customer_from(raw: Any, fields: dict[str, str], where: str) -> Record:
    """The customer in `raw`, its fields at `fields` (console field -> dotted path)."""
    if not isinstance(raw, dict):
        raise ConnectorFailure(f"{where} is not an object.")
    values = {}
    for field, source in fields.items():
        expected, convert = EXPECTED[field]
        try:
            value = convert(at(raw, source))
        except KeyError:
            raise ConnectorFailure(f"{where} has no {source!r} (the {field}).") from None
        if value is None:
            # The value itself may be personal data: name its type only.
            kind = type(at(raw, source)).__name__
            raise ConnectorFailure(
                f"{where}: {source!r} (the {field}) must be {expected}; got a {kind}."
            )
        values[field] = value
    values["external_id"] = values.pop("id")
    return Record(**values)


def at(document: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(document, dict) or part not in document:
            raise KeyError(path)
        document = document[part]
    return document


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    # Some APIs (HubSpot's properties) send every value as a string.
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    return value if isinstance(value, int) and 0 <= value <= MAX_COUNT else None


def _spend(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and 0 <= amount <= MAX_SPEND else None


def _external_id(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value)
    return text if 0 < len(text) <= 255 else None


def _email(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 254:
        return None
    try:
        validate_email(value)
    except DjangoValidationError:
        return None
    return value


def _churned(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return bool(value) if isinstance(value, int) and value in (0, 1) else None


EXPECTED = {
    "id": ("a non-empty string or integer (at most 255 characters)", _external_id),
    "email": ("an e-mail address", _email),
    "sessions": ("a non-negative integer", _count),
    "spend": ("a non-negative amount", _spend),
    "days_since_last_activity": ("a non-negative integer", _count),
    "support_tickets": ("a non-negative integer", _count),
    "churned": ("true or false", _churned),
}
