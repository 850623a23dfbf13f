"""Liveness, readiness and metrics endpoints for orchestrators and scrapers."""

from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from orchestration import metrics
from orchestration.exceptions import TemporalUnavailable
from orchestration.temporal.bridge import get_bridge


@require_GET
def healthz(request):
    """Liveness: the process answers. No dependency is asked, so a database or Temporal
    outage never gets healthy pods restarted."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    """Readiness: the database and Temporal answer. 503 names the ones that don't."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError as error:
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
    body, content_type = metrics.render()
    return HttpResponse(body, content_type=content_type)
