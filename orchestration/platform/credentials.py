"""Integration credentials at rest: AES-GCM under the payload keys (the current one seals,
every configured one opens, so keys rotate together), bound to the integration by associated
data so a sealed value copied onto another integration does not open. The plaintext exists
only in the connector that sends it."""

import base64
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orchestration.temporal.converter import payload_keys

from .airbyte.secrets import Secrets, secrets_joined
from .airbyte.sources import source_named

VERSION = "v1"
NONCE_BYTES = 12


class CredentialsUnreadable(ValueError):
    """Sealed under a key that is no longer configured, or altered."""


def _associated_data(integration_id: int) -> bytes:
    return f"omnify-integration-credentials:{integration_id}".encode()


def credentials_seal(integration_id: int, credentials: dict[str, str]) -> str:
    keys = payload_keys()
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(keys.keys[keys.current]).encrypt(
        nonce, json.dumps(credentials).encode(), _associated_data(integration_id)
    )
    return f"{VERSION}:{keys.current}:{base64.b64encode(nonce + ciphertext).decode()}"


def credentials_open(integration_id: int, sealed: str) -> dict[str, str] | None:
    if not sealed:
        return None
    try:
        version, key_id, encoded = sealed.split(":", 2)
        if version != VERSION:
            raise ValueError(version)
        key = payload_keys().keys[key_id]
        blob = base64.b64decode(encoded)
        plaintext = AESGCM(key).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated_data(integration_id)
        )
    except (ValueError, KeyError, InvalidTag):
        raise CredentialsUnreadable(
            "The integration's credentials can't be opened with the configured keys; "
            "enter them again."
        ) from None
    return json.loads(plaintext)


def stored_secrets(integration) -> Secrets:
    """An Airbyte connector's sealed secret settings ({} if none, or unreadable)."""
    try:
        opened = credentials_open(integration.pk, integration.credentials) or {}
    except CredentialsUnreadable:
        return {}
    secrets = opened.get("secrets")
    return secrets if isinstance(secrets, dict) else {}


def integration_opened(integration) -> tuple[dict, dict[str, str] | None]:
    """(the configuration the connector gets, the header credentials it sends): an Airbyte
    connector's secrets joined back into its configuration, or a connector's own header.
    Raises CredentialsUnreadable when they can't be opened."""
    opened = credentials_open(integration.pk, integration.credentials)
    if source_named(integration.connector) is None:
        return integration.config, opened
    secrets = (opened or {}).get("secrets") or {}
    return secrets_joined(integration.config, secrets), None
