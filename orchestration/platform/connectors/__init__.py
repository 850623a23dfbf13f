"""The connectors by name. An integration names one (`Integration.connector`) and holds its
configuration; `connector_for` builds it for a sync."""

from typing import Any

from rest_framework import serializers

from .airbyte import airbyte_connectors
from .base import (
    Connector,
    ConnectorFailure,
    ConnectorUnavailable,
    Page,
    Record,
    SyncTarget,
)
from .demo import DemoConnector
from .http_json import HttpJsonConnector

CONNECTORS: dict[str, type[Connector]] = {
    connector.name: connector
    for connector in (DemoConnector, HttpJsonConnector, *airbyte_connectors())
}
DEFAULT_CONNECTOR = DemoConnector.name


def connector_choices() -> list[tuple[str, str]]:
    return [(name, connector.label) for name, connector in CONNECTORS.items()]


def connector_type(name: str) -> type[Connector]:
    try:
        return CONNECTORS[name]
    except KeyError:
        raise ConnectorFailure(
            f"Unknown connector {name!r}; known: {', '.join(CONNECTORS)}."
        ) from None


def config_validated(name: str, config: Any) -> dict[str, Any]:
    """The connector's configuration with its defaults, or serializers.ValidationError."""
    serializer = connector_type(name).config_serializer(data=config)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def connector_for(
    name: str, *, config: dict, credentials: dict[str, str] | None, target: SyncTarget
) -> Connector:
    """Build the connector; a stored configuration that no longer validates (edited by hand,
    or from an older version) fails the sync with the connector's own message."""
    try:
        validated = config_validated(name, config)
    except serializers.ValidationError as error:
        raise ConnectorFailure(f"The integration's {name} configuration: {error.detail}") from None
    return connector_type(name)(config=validated, credentials=credentials, target=target)


__all__ = [
    "CONNECTORS",
    "DEFAULT_CONNECTOR",
    "Connector",
    "ConnectorFailure",
    "ConnectorUnavailable",
    "Page",
    "Record",
    "SyncTarget",
    "config_validated",
    "connector_choices",
    "connector_for",
    "connector_type",
]
