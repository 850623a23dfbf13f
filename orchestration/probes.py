"""Liveness, readiness and metrics endpoints for orchestrators and scrapers."""

import hmac
import ipaddress
import sqlite3

from django.conf import settings
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from orchestration import metrics
from orchestration.exceptions import TemporalUnavailable
from orchestration.temporal.bridge import get_bridge

READY_LOCK_WAIT_SECONDS = 1.0


@require_GET
def healthz(request):
    """Liveness: the process answers. No dependency is asked, so a database or Temporal
    outage never gets healthy pods restarted."""
    return JsonResponse({"status": "ok"})


def _check_database_writable() -> None:
    """The database answers and could take a write now. On SQLite that means its one write
    lock can be had within a second (a fresh connection, so the persistent one's busy
    timeout is untouched); elsewhere a query answering is enough."""
    # Inside a transaction of this connection's own (an atomic request), the lock is ours.
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return
    probe = sqlite3.connect(connection.settings_dict["NAME"], timeout=READY_LOCK_WAIT_SECONDS)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.rollback()
    finally:
        probe.close()


@require_GET
def readyz(request):
    """Readiness: the database can take a write and Temporal answers. 503 names the ones
    that can't."""
    checks = {}
    try:
        _check_database_writable()
        checks["database"] = "ok"
    except (DatabaseError, sqlite3.Error) as error:
        checks["database"] = f"unavailable: {error}"
    try:
        get_bridge().check_health()
        checks["temporal"] = "ok"
    except TemporalUnavailable as error:
        checks["temporal"] = f"unavailable: {error}"
    failed = sorted(name for name, state in checks.items() if state != "ok")
    body = {"status": "unavailable" if failed else "ok", "checks": checks, "failed": failed}
    return JsonResponse(body, status=503 if failed else 200)


@require_GET
def metrics_view(request):
    """Prometheus exposition. With OMNIFY_METRICS_TOKEN set, only for `Authorization: Bearer
    <token>`; without it, only for a scraper on this machine (a loopback peer, not relayed by
    a proxy): the counters name workflow types, outcomes and request rates."""
    if not _may_scrape(request):
        response = HttpResponse("Metrics need the scrape token.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics.render()
    return HttpResponse(body, content_type=content_type)


def _may_scrape(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return peer.is_loopback and "X-Forwarded-For" not in request.headers
