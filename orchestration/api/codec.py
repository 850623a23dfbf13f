"""The codec endpoint Temporal's UI and CLI speak (`POST <endpoint>/decode`): it decrypts
payloads only for a caller who may view runs of the organization each payload names, and
audits every request. Encode is not offered: nothing outside the console writes payloads."""

import base64
import binascii

from django.conf import settings
from django.db import transaction
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from temporalio.api.common.v1 import Payload

from accounts.models import Organization
from orchestration import authorization
from orchestration.services.audit import AuditAction, audit_event_record
from orchestration.temporal.codec import (
    EncryptionCodec,
    PayloadKeyError,
    is_encrypted,
    payload_organization,
)
from orchestration.temporal.converter import payload_keys

MAX_PAYLOADS = 1000


class UICookieAuthentication(SessionAuthentication):
    """The console's session, sent by the Temporal UI from its own origin (CORS admits that
    origin only, for this path only). The UI can't send a CSRF token; a forged request from
    elsewhere can't read the answer, and decoding changes nothing but the audit log."""

    def enforce_csrf(self, request) -> None:
        return None


class UICookieAuthenticationScheme(OpenApiAuthenticationExtension):
    """In the schema, the same session cookie as the rest of the API."""

    target_class = UICookieAuthentication
    name = "temporalUICookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}


class PayloadSerializer(serializers.Serializer):
    metadata = serializers.DictField(child=serializers.CharField(allow_blank=True), default=dict)
    data = serializers.CharField(allow_blank=True, default="")


class PayloadsSerializer(serializers.Serializer):
    payloads = PayloadSerializer(many=True, max_length=MAX_PAYLOADS)


def _is_id(value: str | None) -> bool:
    """An organization id as the console writes it: ASCII digits within 64 bits (not "²",
    which isdigit() admits and int() refuses)."""
    return value is not None and value.isascii() and value.isdigit() and len(value) <= 18


def _payload(item: dict) -> Payload:
    try:
        return Payload(
            metadata={
                key: base64.b64decode(value, validate=True)
                for key, value in item["metadata"].items()
            },
            data=base64.b64decode(item["data"], validate=True),
        )
    except (binascii.Error, ValueError):
        raise ValidationError({"payloads": ["metadata values and data are base64."]}) from None


def _as_json(payload: Payload) -> dict:
    metadata = {key: base64.b64encode(value).decode() for key, value in payload.metadata.items()}
    return {"metadata": metadata, "data": base64.b64encode(payload.data).decode()}


@extend_schema(
    request=PayloadsSerializer,
    responses={
        200: PayloadsSerializer,
        400: OpenApiResponse(description="Not payloads, or a payload no key opens."),
        401: OpenApiResponse(description="No or invalid credentials."),
        403: OpenApiResponse(description="A payload of an organization the caller can't see."),
    },
)
class CodecDecodeView(GenericAPIView):
    """Decrypt Temporal payloads (the remote codec protocol of Temporal's UI and CLI) for a
    caller who may view runs of every organization the payloads name. Audited."""

    authentication_classes = [
        *(
            cls
            for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES
            if not issubclass(cls, SessionAuthentication)
        ),
        UICookieAuthentication,
    ]
    permission_classes = [IsAuthenticated]
    serializer_class = PayloadsSerializer

    def post(self, request):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        payloads = [_payload(item) for item in body.validated_data["payloads"]]
        # Plain payloads (written before encryption) hide nothing and name nobody.
        named = {payload_organization(p) for p in payloads if is_encrypted(p)}
        organizations = self._allowed_organizations(request.user, named)
        codec = EncryptionCodec(payload_keys())
        try:
            decoded = [codec.decrypt(payload) for payload in payloads]
        except PayloadKeyError as error:
            raise ValidationError({"payloads": [str(error)]}) from None
        with transaction.atomic():
            for organization in organizations or [None]:
                audit_event_record(
                    action=AuditAction.PAYLOADS_DECODED,
                    actor=request.user,
                    organization=organization,
                    payload={
                        "payloads": len(payloads),
                        "namespace": request.headers.get("X-Namespace", "")[:200],
                    },
                )
        return Response({"payloads": [_as_json(payload) for payload in decoded]})

    @staticmethod
    def _allowed_organizations(user, named: set[str | None]) -> list[Organization]:
        """The organizations the encrypted payloads name, each one the caller may view runs
        of (PermissionDenied otherwise). An encrypted payload naming none (a maintenance
        workflow's) is for superusers."""
        ids = {int(value) for value in named if _is_id(value)}
        visible = list(authorization.visible_organizations(user).filter(pk__in=ids))
        unnamed = any(not _is_id(value) for value in named)
        if len(visible) != len(ids) or (unnamed and not user.is_superuser):
            raise PermissionDenied("You may not view runs of an organization these payloads name.")
        return visible
