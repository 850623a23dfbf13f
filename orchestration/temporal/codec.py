"""Payload encryption: Temporal stores only ciphertext of the console's inputs, results,
heartbeat details and failures (their messages included), because Temporal's UI and gRPC
endpoint have no tenancy.

Each payload is encrypted with AES-GCM under the current key; its metadata names the key (so
keys can rotate: every configured key decodes) and the organization the workflow belongs to
(taken from the workflow id, `workflow_ids.py`), which the codec endpoint uses to decide who
may see it. The organization id and key id are bound into the ciphertext as associated data,
so editing the metadata makes the payload undecodable rather than visible to another tenant.
Payloads written before encryption was on (no encryption metadata) pass through unchanged.
"""

import base64
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
)

from .workflow_ids import organization_of

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
ORGANIZATION = "omnify-organization"
NONCE_BYTES = 12


class PayloadKeyError(ValueError):
    """A payload that no configured key opens (unknown key id, tampered, or corrupt)."""


@dataclass(frozen=True)
class PayloadKeys:
    """The keys by id; `current` encrypts, all of them decrypt."""

    keys: Mapping[str, bytes]
    current: str

    @classmethod
    def parse(cls, text: str) -> "PayloadKeys":
        """`id=base64key,id=base64key`: the first is current. Keys are 32 bytes (AES-256)."""
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key_id, separator, encoded = item.partition("=")
            if not separator or not key_id:
                raise ValueError("Payload keys are written id=base64key, separated by commas.")
            try:
                key = base64.b64decode(encoded, validate=True)
            except ValueError:
                raise ValueError(f"Payload key {key_id}: not base64.") from None
            if len(key) != 32:
                raise ValueError(f"Payload key {key_id}: {len(key)} bytes; AES-256 needs 32.")
            keys[key_id] = key
        if not keys:
            raise ValueError("No payload key given.")
        return cls(keys=keys, current=next(iter(keys)))

    @classmethod
    def derived_from(cls, secret: str) -> "PayloadKeys":
        """One key derived from the secret key (HKDF), for setups that configure none; its
        id names the derivation, not the key."""
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"omnify payload key"
        ).derive(secret.encode())
        key_id = "derived-" + hashlib.sha256(key).hexdigest()[:8]
        return cls(keys={key_id: key}, current=key_id)


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    def __init__(self, keys: PayloadKeys, organization: str = "") -> None:
        self.keys = keys
        self.organization = organization

    def with_context(self, context: SerializationContext) -> "EncryptionCodec":
        organization = organization_of(getattr(context, "workflow_id", None) or "")
        return EncryptionCodec(self.keys, organization or "")

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.keys.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys.keys[key_id]).encrypt(
            nonce, payload.SerializeToString(), _associated(key_id, self.organization)
        )
        metadata = {"encoding": ENCODING, KEY_ID: key_id.encode()}
        if self.organization:
            metadata[ORGANIZATION] = self.organization.encode()
        return Payload(metadata=metadata, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if not is_encrypted(payload):
            return payload  # written before encryption, or not ours to open
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        key = self.keys.keys.get(key_id)
        if key is None:
            raise PayloadKeyError(f"No payload key {key_id!r} is configured.")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        organization = payload.metadata.get(ORGANIZATION, b"").decode()
        try:
            plain = AESGCM(key).decrypt(nonce, sealed, _associated(key_id, organization))
        except InvalidTag:
            raise PayloadKeyError("The payload doesn't open: tampered or corrupt.") from None
        return Payload.FromString(plain)


def _associated(key_id: str, organization: str) -> bytes:
    return f"{key_id}\n{organization}".encode()


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


def payload_organization(payload: Payload) -> str | None:
    """The organization id an encrypted payload belongs to (None: no organization named)."""
    value = payload.metadata.get(ORGANIZATION)
    # A forged payload's bytes needn't be UTF-8: then it names no organization we know.
    return value.decode(errors="replace") if value else None


def console_data_converter(keys: PayloadKeys) -> DataConverter:
    """The data converter of every client and worker the console builds: JSON payloads,
    encrypted, with failure messages and stack traces moved into (encrypted) attributes."""
    return DataConverter(
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
