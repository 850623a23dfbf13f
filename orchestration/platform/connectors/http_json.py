"""`http-json`: any paginated JSON API.

`GET <url>?<cursor_param>=<cursor>&<limit_param>=<page_size>` answering
`{"records": [...], "next_cursor": "..." | null}`; the records' and cursor's paths and the
field names are configurable. 429s (honouring `Retry-After`), 5xx answers, timeouts and lost
connections are tried again with backoff within the page; other 4xx answers, redirects and
malformed pages fail at once, naming what was wrong (never a record's values: they are
personal data). The credential header is sent as given and appears nowhere else.
"""

import email.utils
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.core.validators import URLValidator
from rest_framework import serializers

from .base import (
    ConnectorFailure,
    ConnectorUnavailable,
    Page,
    Record,
    SyncTarget,
    nothing_while_idle,
)
from .record_fields import RECORD_FIELDS, at, customer_from

MAX_PAGE_BYTES = 16 * 1024 * 1024
# Tries per page for 429s, 5xx answers and network errors; waits double from 1 s.
TRIES_PER_PAGE = 6
FIRST_BACKOFF_SECONDS = 1.0
# A Retry-After longer than this is left to Temporal's retry (resuming from the cursor)
# rather than held inside the activity.
LONGEST_WAIT_SECONDS = 60.0


class FieldMapSerializer(serializers.Serializer):
    """Where each of the console's record fields is in the source's records (dotted paths)."""

    def get_fields(self):
        return {
            name: serializers.CharField(max_length=200, default=name, help_text=f"Default {name}.")
            for name in RECORD_FIELDS
        }


class HttpJsonConfigSerializer(serializers.Serializer):
    url = serializers.CharField(
        max_length=2000,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="The first page's URL (http or https).",
    )
    page_size = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    cursor_param = serializers.CharField(max_length=100, default="cursor")
    limit_param = serializers.CharField(max_length=100, default="limit")
    records_path = serializers.CharField(max_length=200, default="records")
    next_cursor_path = serializers.CharField(max_length=200, default="next_cursor")
    fields = FieldMapSerializer(default=dict, help_text="Record field -> the source's field.")
    timeout_seconds = serializers.FloatField(min_value=1, max_value=120, default=15)

    def validate_url(self, url: str) -> str:
        if "@" in urlsplit(url).netloc:
            raise serializers.ValidationError(
                "Put credentials in the integration's credentials, not in the URL."
            )
        return url

    def validate_fields(self, fields: dict) -> dict:
        # A partial map keeps the defaults for the fields it doesn't name.
        return {name: fields.get(name, name) for name in RECORD_FIELDS}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass(frozen=True)
class _Retry:
    problem: str
    wait: float


def _retry_for(response: httpx.Response, backoff: float) -> _Retry | None:
    """None for a page to read; a retry for 429s and 5xx; ConnectorFailure otherwise."""
    status = response.status_code
    if status == 200:
        return None
    if status == 429 or status >= 500:
        problem = f"the source answered {status}"
        wait = (_retry_after(response) if status == 429 else None) or backoff
        if wait > LONGEST_WAIT_SECONDS:
            raise ConnectorUnavailable(
                f"{problem} and asks to wait {wait:.0f} s; trying again later."
            )
        return _Retry(problem, wait)
    if 300 <= status < 400:
        raise ConnectorFailure(f"the source redirected ({status}); configure the final URL.")
    raise ConnectorFailure(f"the source answered {status}; not retrying.")


class HttpJsonConnector:
    name = "http-json"
    label = "HTTP JSON API"
    config_serializer = HttpJsonConfigSerializer
    uses_credentials = True
    resumes_mid_read = True

    def __init__(
        self,
        *,
        config: dict[str, Any],
        credentials: dict[str, str] | None,
        target: SyncTarget,
    ) -> None:
        self.config = config
        headers = {"Accept": "application/json"}
        if credentials:
            headers[credentials["header"]] = credentials["value"]
        # No redirects: a credential header must not follow the answer to another host.
        self.http = httpx.Client(
            headers=headers, timeout=config["timeout_seconds"], follow_redirects=False
        )

    def close(self) -> None:
        self.http.close()

    def said(self) -> list[str]:
        return []  # its failures say it all: each names the host and the answer

    def fetch_page(self, cursor: str | None, idle: Callable[[], None] = nothing_while_idle) -> Page:
        document = self._get(cursor)
        config = self.config
        try:
            raw_records = at(document, config["records_path"])
        except KeyError:
            raise ConnectorFailure(f"the answer has no {config['records_path']!r}.") from None
        if not isinstance(raw_records, list):
            raise ConnectorFailure(f"{config['records_path']!r} is not a list.")
        try:
            next_cursor = at(document, config["next_cursor_path"])
        except KeyError:
            next_cursor = None
        if next_cursor is not None and (
            isinstance(next_cursor, bool) or not isinstance(next_cursor, str | int)
        ):
            raise ConnectorFailure(
                f"{config['next_cursor_path']!r} must be a string, a number or null."
            )
        records = [self._record(index, raw) for index, raw in enumerate(raw_records)]
        next_cursor = str(next_cursor) if next_cursor not in (None, "") else None
        if next_cursor is not None and next_cursor == cursor:  # it would page for ever
            raise ConnectorFailure("the source returned the same cursor again.")
        return Page(records=records, next_cursor=next_cursor)

    def _record(self, index: int, raw: Any) -> Record:
        return customer_from(raw, self.config["fields"], f"record {index}")

    def _host(self) -> str:
        """The source's host (and port), for messages: never the URL's user or password."""
        url = urlsplit(self.config["url"])
        return f"{url.hostname}:{url.port}" if url.port else str(url.hostname)

    def _get(self, cursor: str | None) -> Any:
        """The page's JSON document, after the retries the answers allow."""
        config = self.config
        params = {config["limit_param"]: config["page_size"]}
        if cursor is not None:
            params[config["cursor_param"]] = cursor
        backoff, tries = FIRST_BACKOFF_SECONDS, 1
        while True:
            try:
                response, body = self._request(params)
            except httpx.TransportError as error:
                retry = _Retry(f"{type(error).__name__} reaching {self._host()}", backoff)
            else:
                retry = _retry_for(response, backoff)
                if retry is None:
                    try:
                        return json.loads(body)
                    except ValueError:
                        raise ConnectorFailure("the answer is not JSON.") from None
            if tries == TRIES_PER_PAGE:
                raise ConnectorUnavailable(f"{retry.problem} after {TRIES_PER_PAGE} tries.")
            time.sleep(retry.wait)
            backoff, tries = min(backoff * 2, LONGEST_WAIT_SECONDS), tries + 1

    def _request(self, params: dict) -> tuple[httpx.Response, bytes]:
        with self.http.stream("GET", self.config["url"], params=params) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_PAGE_BYTES:
                    raise ConnectorFailure(
                        f"the answer is larger than {MAX_PAGE_BYTES // (1024 * 1024)} MB."
                    )
            return response, bytes(body)
