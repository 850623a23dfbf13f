"""Test connection: does the integration's connector reach its source with its settings?

Asked of the connector itself (`check`), within a bounded time, by those who configure the
integration; the answer is the connector's own message, with secrets masked. Each check is
audited (the outcome, never the settings' secrets)."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied

from orchestration.models import AuditEvent, Integration
from orchestration.services.audit import AuditAction, audit_event_record

from .airbyte.sources import source_named
from .connectors.airbyte import CheckOutcome, connection_check
from .credentials import CredentialsUnreadable, integration_opened
from .integration_settings import may_configure


class NotCheckable(Exception):
    """The integration's connector isn't one that can be asked (the console's own)."""


def integration_check(*, user: AbstractBaseUser, integration: Integration) -> CheckOutcome:
    if not may_configure(user, integration):
        raise PermissionDenied("Testing a connection needs the manager or admin role.")
    source = source_named(integration.connector)
    if source is None:
        raise NotCheckable(
            f"The {integration.connector} connector has no connection to test: only the "
            "Airbyte connectors answer `check`."
        )
    try:
        config, _ = integration_opened(integration)
    except CredentialsUnreadable as error:
        raise NotCheckable(str(error)) from None
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
