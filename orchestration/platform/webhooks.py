"""Webhooks for real-time updates: a source tells the console that something changed, and
the integration syncs soon after, once for a whole burst of deliveries.

Each integration may have one webhook: an unguessable id in its URL
(`/api/platform/webhooks/<id>`) and a signing secret, sealed as credentials are. Two ways of
signing:

- `hubspot`: HubSpot's v3 signature (`X-HubSpot-Signature-v3`), base64 of HMAC-SHA256 with
  the HubSpot app's client secret over method, full URL, body and the
  `X-HubSpot-Request-Timestamp` (milliseconds);
- `omnify`, for any other source: `X-Omnify-Signature: sha256=<hex>`, HMAC-SHA256 with a
  secret the console makes (shown once) over `<X-Omnify-Timestamp>.<body>` (Unix seconds):
  the time is signed with the body, so a delivery can't be replayed later with a new time.

A delivery is refused (401) when its signature is missing or wrong, its time is more than
5 minutes away, or it was accepted before (the same signature, remembered for twice that
long); 413 when its body is over the limit. None of them starts anything. An accepted one is
audited (never its body) and joins the integration's next sync: the first delivery of a
burst starts an incremental platform-sync run that Temporal begins `WEBHOOK_DEBOUNCE_SECONDS`
later, and every delivery until then answers with that same run (one idempotency key per
burst), so 100 deliveries make one sync. A delivery after the sync began starts the next.
"""

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from orchestration.models import Integration, WorkflowRun
from orchestration.services.audit import AuditAction, audit_event_record
from orchestration.services.runs import workflow_run_start_unattended

from .credentials import CredentialsUnreadable, credentials_open, credentials_seal
from .integration_settings import may_configure

SCHEMES = ("hubspot", "omnify")
TOLERANCE_SECONDS = 300
SYNC_TYPE = "platform-sync"


class WebhookRefused(Exception):
    """A delivery the console won't act on: `http_status` is the answer (401, 404, 413)."""

    def __init__(self, http_status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status


@dataclass(frozen=True)
class Delivery:
    method: str
    url: str  # as the sender addressed it: scheme, host, path and query
    body: bytes
    headers: dict[str, str]  # names in lower case


@dataclass(frozen=True)
class WebhookEnabled:
    webhook_id: str
    scheme: str
    secret: str | None  # the console's own secret, shown this once (None: the app's secret)


def integration_webhook_enable(
    *, user: AbstractBaseUser, integration: Integration, scheme: str, app_secret: str = ""
) -> WebhookEnabled:
    """Give the integration a webhook (a new id and secret: any previous one stops working).
    `hubspot` signs with the HubSpot app's client secret (`app_secret`); `omnify` with a
    secret made here and returned this once. Audited, without the secret."""
    if not may_configure(user, integration):
        raise PermissionDenied("Setting up webhooks needs the manager or admin role.")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme: one of {', '.join(SCHEMES)}")
    if scheme == "hubspot" and not app_secret:
        raise ValueError("app_secret: HubSpot signs with your app's client secret; enter it.")
    secret = app_secret if scheme == "hubspot" else secrets.token_urlsafe(32)
    webhook_id = secrets.token_urlsafe(24)
    _webhook_set(
        user=user,
        integration=integration,
        action=AuditAction.INTEGRATION_WEBHOOK_ENABLE,
        webhook=(webhook_id, scheme, secret),
        payload={"integration": integration.pk, "scheme": scheme},
    )
    return WebhookEnabled(webhook_id, scheme, None if scheme == "hubspot" else secret)


def integration_webhook_disable(*, user: AbstractBaseUser, integration: Integration) -> None:
    if not may_configure(user, integration):
        raise PermissionDenied("Setting up webhooks needs the manager or admin role.")
    _webhook_set(
        user=user,
        integration=integration,
        action=AuditAction.INTEGRATION_WEBHOOK_DISABLE,
        webhook=None,
        payload={"integration": integration.pk},
    )


def _webhook_set(
    *,
    user: AbstractBaseUser,
    integration: Integration,
    action: AuditAction,
    webhook: tuple[str, str, str] | None,
    payload: dict,
) -> None:
    """Give the integration the webhook (id, scheme, secret; None: none) with its audit
    event, in one transaction; removing a webhook it doesn't have changes nothing."""
    with transaction.atomic():
        locked = Integration.objects.select_for_update().get(pk=integration.pk)
        if webhook is None and locked.webhook_id is None:
            return
        webhook_id, scheme, secret = webhook or (None, "", "")
        locked.webhook_id, locked.webhook_scheme = webhook_id, scheme
        locked.webhook_secret = (
            credentials_seal(locked.pk, {"webhook_secret": secret}) if secret else ""
        )
        locked.webhook_sync_at = None
        locked.save(
            update_fields=["webhook_id", "webhook_scheme", "webhook_secret", "webhook_sync_at"]
        )
        audit_event_record(
            action=action,
            actor=user,
            organization=integration.client.organization,
            payload=payload,
        )


def webhook_delivery_accept(
    *, webhook_id: str, delivery: Delivery, now: float | None = None
) -> WorkflowRun:
    """Check the delivery (WebhookRefused) and join it to the integration's next sync, which
    is started if none is waiting: the run it joined. Raises TemporalUnavailable when the
    sync can't be started (the sender's retry of the delivery starts it)."""
    integration = (
        Integration.objects.select_related("client__organization")
        .filter(webhook_id=webhook_id)
        .first()
        if webhook_id
        else None
    )
    if integration is None:
        raise WebhookRefused(404, "No webhook has this address.")
    if len(delivery.body) > settings.OMNIFY_WEBHOOK_MAX_BYTES:
        raise WebhookRefused(
            413, f"The body is over {settings.OMNIFY_WEBHOOK_MAX_BYTES} bytes: not accepted."
        )
    signature = _verified(integration, delivery, time.time() if now is None else now)
    # Accepted once only: the same signed delivery again is a replay.
    seen = "webhook-seen:" + hashlib.sha256(signature.encode()).hexdigest()
    if not cache.add(seen, 1, timeout=2 * TOLERANCE_SECONDS):
        raise WebhookRefused(401, "This delivery was accepted before: a replay is not.")
    try:
        return _join_next_sync(integration)
    except Exception:
        # Not accepted after all (Temporal unreachable, the database down): the sender's
        # retry of this very delivery must not be taken for a replay.
        cache.delete(seen)
        raise


def _verified(integration: Integration, delivery: Delivery, now: float) -> str:
    """The delivery's signature, once it is the integration's and in time."""
    try:
        opened = credentials_open(integration.pk, integration.webhook_secret) or {}
    except CredentialsUnreadable:
        raise WebhookRefused(
            401, "The webhook's secret can't be opened: set the webhook up again."
        ) from None
    secret = opened.get("webhook_secret", "").encode()
    if integration.webhook_scheme == "hubspot":
        given = delivery.headers.get("x-hubspot-signature-v3", "")
        stamp = delivery.headers.get("x-hubspot-request-timestamp", "")
        sent_at = _number(stamp) / 1000 if _number(stamp) is not None else None
        signed = delivery.method.encode() + delivery.url.encode() + delivery.body + stamp.encode()
        expected = base64.b64encode(hmac.digest(secret, signed, "sha256")).decode()
        names = "X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp"
    else:
        given = delivery.headers.get("x-omnify-signature", "")
        stamp = delivery.headers.get("x-omnify-timestamp", "")
        sent_at = _number(stamp)
        signed = stamp.encode() + b"." + delivery.body
        expected = "sha256=" + hmac.new(secret, signed, "sha256").hexdigest()
        names = "X-Omnify-Signature and X-Omnify-Timestamp"
    if not given or sent_at is None:
        raise WebhookRefused(401, f"Deliveries are signed: {names} are required.")
    if abs(now - sent_at) > TOLERANCE_SECONDS:
        raise WebhookRefused(
            401, f"The delivery's time is more than {TOLERANCE_SECONDS // 60} minutes away."
        )
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise WebhookRefused(401, "The signature doesn't match this webhook's secret.")
    return given


def _number(text: str) -> float | None:
    return float(text) if text.isascii() and text.isdigit() and len(text) <= 16 else None


def _join_next_sync(integration: Integration) -> WorkflowRun:
    debounce = timedelta(seconds=settings.OMNIFY_WEBHOOK_DEBOUNCE_SECONDS)
    with transaction.atomic():
        locked = Integration.objects.select_for_update().get(pk=integration.pk)
        moment = timezone.now()
        if locked.webhook_sync_at is None or locked.webhook_sync_at <= moment:
            # No sync is waiting for deliveries: this one opens the next burst.
            locked.webhook_sync_at = moment + debounce
            locked.save(update_fields=["webhook_sync_at"])
        sync_at = locked.webhook_sync_at
        audit_event_record(
            action=AuditAction.INTEGRATION_WEBHOOK_DELIVERY,
            actor_name=f"webhook ({locked.webhook_scheme})",
            organization=integration.client.organization,
            payload={"integration": locked.pk, "sync_at": sync_at.isoformat()},
        )
    run, _ = workflow_run_start_unattended(
        actor_name=f"webhook ({integration.webhook_scheme})",
        organization=integration.client.organization,
        workflow_type=SYNC_TYPE,
        params={
            "client_id": integration.client_id,
            "platform": integration.platform,
            "full": False,
        },
        # One key per burst: every delivery of it answers with the same run.
        idempotency_key=f"webhook:{integration.pk}:{sync_at.timestamp():.6f}",
        start_delay_seconds=max(0, round((sync_at - timezone.now()).total_seconds())),
    )
    return run
