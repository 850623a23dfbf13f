"""Configuring an integration: its connector, the connector's configuration and the
credentials it sends. The API's PATCH and the admin's integration page both go through
`IntegrationSettingsSerializer` and `integration_settings_save`.

Credentials are write-only: stored sealed (`credentials.py`), answered as whether they are
set and under which header, and audited the same way. Changing the connector or its
configuration starts the next sync from the beginning (the old cursor means nothing to the
new source)."""

import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from rest_framework import serializers

from orchestration import authorization
from orchestration.models import Integration, RawRecord, SyncedRecord
from orchestration.services.audit import AuditAction, audit_event_record

from .airbyte.secrets import MissingSecret, secrets_kept, secrets_split
from .airbyte.sources import source_named
from .connectors import config_validated, connector_choices, connector_type
from .credentials import credentials_seal, stored_secrets

SYNC_MODES = ("incremental", "full_refresh")
MAX_STREAMS = 500

# RFC 9110 field names are tokens; values must not break the header block.
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}")
HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]{1,4096}")


class CredentialsSerializer(serializers.Serializer):
    header = serializers.CharField(max_length=100, default="Authorization", trim_whitespace=False)
    value = serializers.CharField(
        max_length=4096, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )

    def validate_header(self, header: str) -> str:
        if not HEADER_NAME.fullmatch(header):
            raise serializers.ValidationError("Not an HTTP header name.")
        return header

    def validate_value(self, value: str) -> str:
        if not HEADER_VALUE.fullmatch(value):
            raise serializers.ValidationError("Not a valid header value (no line breaks).")
        return value

    def validate(self, data: dict[str, str]) -> dict[str, str]:
        # A PATCH is partial, which DRF passes down: required and default are enforced here.
        if "value" not in data:
            raise serializers.ValidationError({"value": ["This field is required."]})
        return {"header": "Authorization", **data}


class IntegrationSettingsSerializer(serializers.Serializer):
    """What a PATCH may change; omitted fields stay as they are. `credentials: null` removes
    them. The configuration is validated by the connector it is for (defaults filled in)."""

    connector = serializers.ChoiceField(choices=connector_choices())
    config = serializers.JSONField(
        help_text="The connector's settings (see docs/connectors.md). Replaces the old ones."
    )
    credentials = CredentialsSerializer(allow_null=True)
    streams = serializers.DictField(
        child=serializers.ChoiceField(choices=SYNC_MODES),
        allow_empty=True,
        help_text="An Airbyte connector's streams to read, each with its sync mode "
        '({"contacts": "incremental", "deals": "full_refresh"}; GET .../streams lists them). '
        "Those its normalization reads are always read; {} reads just those (every stream "
        "for a connector without normalization). Replaces the old choice.",
    )

    def validate_streams(self, streams: dict[str, str]) -> dict[str, str]:
        if len(streams) > MAX_STREAMS:
            raise serializers.ValidationError(f"At most {MAX_STREAMS} streams.")
        long = [name for name in streams if not 0 < len(name) <= 200]
        if long:
            raise serializers.ValidationError("A stream's name has 1 to 200 characters.")
        return streams

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        integration: Integration = self.context["integration"]
        connector = data.get("connector", integration.connector)
        changes_source = "connector" in data and connector != integration.connector
        config = data.get("config", {} if changes_source else integration.config)
        try:
            data["config"] = config_validated(connector, config)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"config": error.detail}) from None
        data["connector"] = connector
        source = source_named(connector)
        if source is not None:
            # Its secret settings are sealed apart; MASK keeps the one stored (same connector).
            data["config"], given = secrets_split(source, data["config"])
            stored = stored_secrets(integration) if not changes_source else {}
            try:
                data["secrets"] = secrets_kept(given, stored)
            except MissingSecret as missing:
                raise serializers.ValidationError(
                    {"config": {str(missing): ["No value is stored for this secret: enter it."]}}
                ) from None
        if data.get("streams") and source is None:
            raise serializers.ValidationError(
                {"streams": [f"The {connector} connector has no streams to choose."]}
            )
        if changes_source and "streams" not in data:
            data["streams"] = {}  # the old source's streams mean nothing to the new one
        if data.get("credentials") and not connector_type(connector).uses_credentials:
            raise serializers.ValidationError(
                {"credentials": [f"The {connector} connector sends no credentials."]}
            )
        return data


def manages_integrations_somewhere(user: AbstractBaseUser) -> bool:
    return authorization.integration_organizations(user).exists()


def may_configure(user: AbstractBaseUser, integration: Integration) -> bool:
    return authorization.may_configure_integrations(user, integration.client.organization)


@dataclass(frozen=True)
class SettingsSaved:
    integration: Integration
    # The previous connector's records of the client's platform, removed with the switch.
    records_removed: int


def integration_settings_save(
    *, user: AbstractBaseUser, integration: Integration, settings: dict[str, Any]
) -> SettingsSaved:
    """Apply validated `settings` (IntegrationSettingsSerializer's data) with an audit event
    in the same transaction. The event names the header, never the credential.

    A client's customers from a platform are the records of the source its integration reads,
    never a mix of two: switching the connector removes the previous one's records of that
    client and platform, and what the last sync did and when, in the same transaction (the next
    sync reads the new source from the beginning), and the event counts them. The same
    connector with other settings keeps them: the next sync reads the source again and
    updates them in place."""
    if not may_configure(user, integration):
        raise PermissionDenied("Configuring integrations needs the manager or admin role.")
    with transaction.atomic():
        locked = (
            Integration.objects.select_for_update().select_related("client").get(pk=integration.pk)
        )
        source_changed = (settings["connector"], settings["config"]) != (
            locked.connector,
            locked.config,
        )
        records_removed = 0
        if settings["connector"] != locked.connector:
            records_removed, _ = SyncedRecord.objects.filter(
                client_id=locked.client_id, platform=locked.platform
            ).delete()
            # And what it read raw (a source connector's records and the state after them).
            RawRecord.objects.filter(integration=locked).delete()
            # What the last sync did and when was the previous source's.
            locked.last_sync, locked.last_synced_at = {}, None
        locked.connector, locked.config = settings["connector"], settings["config"]
        if source_changed:
            locked.cursor = ""
        if "streams" in settings:
            # A stream added is read from its beginning; the others continue from their state.
            locked.streams = settings["streams"]
        if "secrets" in settings:  # an Airbyte connector's secret settings, sealed
            secrets = settings["secrets"]
            locked.credentials = (
                credentials_seal(locked.pk, {"secrets": secrets}) if secrets else ""
            )
            locked.credentials_header = ""
            credentials = f"{len(secrets)} secret settings sealed" if secrets else "none"
        elif "credentials" in settings:
            given = settings["credentials"]
            locked.credentials = credentials_seal(locked.pk, dict(given)) if given else ""
            locked.credentials_header = given["header"] if given else ""
            credentials = "replaced" if given else "removed"
        elif not connector_type(locked.connector).uses_credentials and locked.credentials:
            locked.credentials, locked.credentials_header, credentials = "", "", "removed"
        else:
            credentials = "kept"
        locked.save(
            update_fields=[
                "connector",
                "config",
                "streams",
                "credentials",
                "credentials_header",
                "cursor",
                "last_sync",
                "last_synced_at",
            ]
        )
        audit_event_record(
            action=AuditAction.INTEGRATION_CONFIGURE,
            actor=user,
            organization=locked.client.organization,
            payload={
                "integration": locked.pk,
                "client": locked.client_id,
                "platform": locked.platform,
                "connector": locked.connector,
                "config": locked.config,
                "streams": locked.streams,
                "credentials": credentials,
                "credentials_header": locked.credentials_header or None,
                "cursor_reset": source_changed,
                "records_removed": records_removed,
            },
        )
    return SettingsSaved(locked, records_removed)
