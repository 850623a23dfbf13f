import logging
import re
import time
import uuid

from django.http import HttpResponse, JsonResponse

from . import metrics
from .api.errors import database_unavailable
from .context import RequestContext, client_address, request_context
from .exceptions import DATABASE_ERRORS

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("omnify.access")


class RequestIdMiddleware:
    """Give every request an id (the caller's X-Request-ID when it is sane), echo it back in
    the response, make it and the client IP (`client_address`: X-Forwarded-For only from
    trusted proxies) available to the audit log and the logs, and count and log the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_context.set(
            RequestContext(request_id=request_id, client_ip=client_address(request))
        )
        began = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - began
            metrics.HTTP_REQUESTS.labels(request.method, response.status_code).inc()
            metrics.HTTP_LATENCY.labels(request.method).observe(elapsed)
            user = getattr(request, "user", None)
            # Live fragments are polled every second by each open page: not worth a line each.
            log = (
                access_log.debug if getattr(request, "quiet_access_log", False) else access_log.info
            )
            log(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                    "user": user.get_username() if user and user.is_authenticated else None,
                },
            )
        finally:
            request_context.reset(token)
        response["X-Request-ID"] = request_id
        return response


class DatabaseUnavailableMiddleware:
    """The admin's pages (DRF's views answer for themselves) meet a busy or absent database
    with a 503 that says so, not a 500: the same JSON body under /api/, a short page elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_ERRORS):
            return None
        body = database_unavailable(exception)
        if request.path.startswith("/api/"):
            return JsonResponse(body, status=503)
        return HttpResponse(
            f"<h1>Database unavailable</h1><p>{body['detail']}</p>",
            status=503,
            headers={"Retry-After": "5"},
        )
