"""Asking an integration's connector, by those who configure the integration, within a
bounded time: does it reach its source with its settings (Test connection, `check`), and
which streams does the source offer (`discover`)?

The answers are the connector's own messages, with secrets masked. Each check is audited
(the outcome, never the settings' secrets); listing streams changes nothing."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied

from orchestration.models import AuditEvent, Integration
from orchestration.services.audit import AuditAction, audit_event_record

from .airbyte.sources import Source, source_named
from .connectors.airbyte import (
    CheckOutcome,
    connection_check,
    incremental_possible,
    streams_offered,
)
from .credentials import CredentialsUnreadable, integration_opened
from .integration_settings import may_configure
from .normalization import streams_read, streams_to_read

# How long the web request waits for `discover` (a sync waits longer).
STREAMS_SECONDS = 60


class NotCheckable(Exception):
    """The integration's connector isn't one that can be asked (the console's own)."""


def _asked(
    user: AbstractBaseUser, integration: Integration, doing: str, nothing: str, command: str
) -> tuple[Source, dict]:
    """The integration's Airbyte source and its opened settings, for one who may ask it."""
    if not may_configure(user, integration):
        raise PermissionDenied(f"{doing} needs the manager or admin role.")
    source = source_named(integration.connector)
    if source is None:
        raise NotCheckable(
            f"The {integration.connector} connector has {nothing}: only the Airbyte "
            f"connectors answer `{command}`."
        )
    try:
        config, _ = integration_opened(integration)
    except CredentialsUnreadable as error:
        raise NotCheckable(str(error)) from None
    return source, config


def integration_check(*, user: AbstractBaseUser, integration: Integration) -> CheckOutcome:
    source, config = _asked(
        user, integration, "Testing a connection", "no connection to test", "check"
    )
    outcome = connection_check(source, config)
    audit_event_record(
        action=AuditAction.INTEGRATION_CHECK,
        actor=user,
        organization=integration.client.organization,
        payload={
            "integration": integration.pk,
            "connector": integration.connector,
            "succeeded": outcome.succeeded,
            "seconds": round(outcome.seconds, 1),
        },
        outcome=AuditEvent.Outcome.SUCCESS if outcome.succeeded else AuditEvent.Outcome.FAILURE,
    )
    return outcome


@dataclass(frozen=True)
class StreamOffered:
    name: str
    sync_modes: list[str]  # incremental only where the stream has a cursor
    primary_key: list[list[str]]
    chosen: bool  # read by the integration's syncs
    sync_mode: str | None  # how they read it (None when not read)
    normalization_reads: bool  # always read: the customers are made of it


def integration_streams(*, user: AbstractBaseUser, integration: Integration) -> list[StreamOffered]:
    """The streams the integration's source offers, and which its syncs read and how.
    Raises PermissionDenied, NotCheckable, ConnectorFailure or ConnectorUnavailable."""
    source, config = _asked(
        user, integration, "Listing a source's streams", "no streams to choose", "discover"
    )
    offered = streams_offered(source, config, deadline_seconds=STREAMS_SECONDS)
    read = streams_to_read(integration.connector, integration.streams or {})
    needed = streams_read(integration.connector) or frozenset()
    answer = []
    for stream in offered:
        modes = (
            ["incremental", "full_refresh"] if incremental_possible(stream) else ["full_refresh"]
        )
        chosen = read is None or stream["name"] in read
        mode = ((read or {}).get(stream["name"]) or modes[0]) if chosen else None
        answer.append(
            StreamOffered(
                name=stream["name"],
                sync_modes=modes,
                primary_key=stream.get("source_defined_primary_key") or [],
                chosen=chosen,
                sync_mode=mode,
                normalization_reads=stream["name"] in needed,
            )
        )
    return answer
