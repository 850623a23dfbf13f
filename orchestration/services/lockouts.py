"""Login lockouts (django-axes): the answer a locked-out login gets, and the audit log's
record of every lockout and of every lockout lifted.

Axes counts failed logins (the admin's login page and `POST /api/auth/token` alike) per
username and client address in its AccessAttempt table; a pair with AXES_FAILURE_LIMIT
failures within AXES_COOLOFF_TIME is refused, the right password included, until the
cool-off has passed or an administrator resets it: the admin's "Access attempts" page
(superusers; "Unlock" or delete) or `manage.py axes_reset_username <username>` (and axes'
other reset commands). Every path that deletes attempts goes through the pre-delete receiver
below, so each lifted lockout is audited; the admin's path names who lifted it.
"""

import logging
import math
from contextvars import ContextVar
from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max, QuerySet, Sum
from django.db.models.signals import pre_delete
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from orchestration.models import AuditEvent
from orchestration.services.audit import AuditAction, audit_event_record

log = logging.getLogger("omnify.security")

# Who is lifting lockouts right now (login_attempts_reset); empty for axes' commands.
_unlocking_actor: ContextVar[AbstractBaseUser | None] = ContextVar(
    "accounts_unlocking_actor", default=None
)


def login_attempts_reset(*, attempts: QuerySet[AccessAttempt], actor: AbstractBaseUser) -> int:
    """Forget `attempts`, lifting the lockouts they caused; each one lifted is audited with
    `actor`, in the same transaction. Returns how many attempt rows went."""
    token = _unlocking_actor.set(actor)
    try:
        with transaction.atomic():
            count, _ = attempts.delete()
    finally:
        _unlocking_actor.reset(token)
    return count


def _pair_failures(username: str | None, ip_address: str | None) -> int:
    """Failures of one (username, address) pair within the cool-off: what axes compares with
    the limit under AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return (
        AccessAttempt.objects.filter(
            username=username, ip_address=ip_address, attempt_time__gte=since
        ).aggregate(failures=Sum("failures_since_start"))["failures"]
        or 0
    )


def _attempt_deleted(sender, instance: AccessAttempt, **kwargs) -> None:
    # Before the delete, inside its transaction: the pair's rows are all still there. Rows
    # past the cool-off (axes' own clean-up) and failures below the limit (a reset after a
    # successful login) lift no lockout and aren't audited.
    failures = _pair_failures(instance.username, instance.ip_address)
    if failures < settings.AXES_FAILURE_LIMIT:
        return
    actor = _unlocking_actor.get()
    audit_event_record(
        action=AuditAction.LOGIN_UNLOCK,
        actor=actor,
        payload={
            "username": instance.username,
            "ip_address": instance.ip_address,
            "failures": failures,
            "by": actor.get_username() if actor else "manage.py (axes reset command)",
        },
    )
    log.info("Lockout of %r from %s lifted", instance.username, instance.ip_address)


def _locked_out(sender, request, username, ip_address, **kwargs) -> None:
    # Axes sends this for the failure that locks the pair out (it has just counted it:
    # `axes_failures_since_start` is set) and again for every refused attempt afterwards,
    # which isn't a new lockout.
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:
        log.info("Login of %r from %s refused: locked out", username, ip_address)
        return
    audit_event_record(
        action=AuditAction.LOGIN_LOCKOUT,
        outcome=AuditEvent.Outcome.DENIED,
        payload={
            "username": username,
            "ip_address": ip_address,
            "failures": failures,
            "cooloff_minutes": settings.AXES_COOLOFF_TIME.total_seconds() / 60,
        },
    )
    log.warning("Login of %r from %s locked out after %d failures", username, ip_address, failures)


def connect_signals() -> None:
    user_locked_out.connect(_locked_out, dispatch_uid="lockouts.locked_out")
    pre_delete.connect(
        _attempt_deleted,
        sender=AccessAttempt,
        dispatch_uid="lockouts.attempt_deleted",
    )


def lockout_time_left(request: HttpRequest, credentials: dict | None = None) -> timedelta:
    """How long the request's (username, address) pair stays locked out."""
    handler = AxesProxyHandler.get_implementation()
    latest = [
        qs.aggregate(latest=Max("attempt_time"))["latest"]
        for qs in handler.get_user_attempts(request, credentials)
    ]
    latest = max((time for time in latest if time is not None), default=None)
    if latest is None:
        return settings.AXES_COOLOFF_TIME
    return max(latest + settings.AXES_COOLOFF_TIME - timezone.now(), timedelta(0))


def lockout_message(left: timedelta) -> str:
    minutes = max(1, math.ceil(left.total_seconds() / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed attempts; try again in {minutes} {unit} or ask an administrator."


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with how long the lockout lasts, JSON under /api/ (DRF's
    error shape, code `locked_out`), the admin's look elsewhere."""
    if credentials is None and isinstance(original_response, dict):
        # axes' async middleware passes (request, credentials).
        credentials = original_response
    credentials = credentials or getattr(request, "axes_credentials", None)
    left = lockout_time_left(request, credentials)
    message = lockout_message(left)
    headers = {"Retry-After": str(max(1, math.ceil(left.total_seconds())))}
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": "locked_out"}, status=429, headers=headers)
    context = {
        **admin.site.each_context(request),
        "title": "Locked out",
        "message": message,
        "username": get_client_username(request, credentials) or "",
    }
    response = TemplateResponse(
        request, "admin/locked_out.html", context, status=429, headers=headers
    )
    return response.render()
