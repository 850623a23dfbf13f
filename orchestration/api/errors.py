"""DRF's error shapes, extended with the console's own: 409 for a run-state conflict, 503
with `code: temporal_unavailable` when Temporal can't be reached and 503 with
`code: database_unavailable` when the database is busy (SQLite's lock) or down."""

import logging

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from orchestration.exceptions import DATABASE_ERRORS, RunStateConflict, TemporalUnavailable
from orchestration.input_limits import too_large, too_many
from orchestration.temporal.bridge import WorkflowNotFound

logger = logging.getLogger(__name__)
DATABASE_UNAVAILABLE = {
    "detail": "The database is busy or unavailable; nothing was changed. Try again shortly.",
    "code": "database_unavailable",
}


def database_unavailable(error: Exception) -> dict:
    """The 503 body for a database that couldn't be had, logged as one line."""
    logger.warning("database unavailable: %s", error)
    return DATABASE_UNAVAILABLE


def exception_handler(exc, context):
    if isinstance(exc, TemporalUnavailable):
        return Response(
            {"detail": f"Temporal is unavailable: {exc}", "code": "temporal_unavailable"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(exc, DATABASE_ERRORS):
        return Response(database_unavailable(exc), status=status.HTTP_503_SERVICE_UNAVAILABLE)
    if isinstance(exc, RunStateConflict):
        return Response({"detail": str(exc), "code": "conflict"}, status=status.HTTP_409_CONFLICT)
    # A form body past Django's limits (a JSON body's are BoundedJSONParser's).
    if isinstance(exc, TooManyFieldsSent):
        return Response(
            {"detail": too_many("form fields"), "code": "invalid_request"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": too_large("request body"), "code": "payload_too_large"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, WorkflowNotFound):
        return Response(
            {"detail": "Temporal has no execution for this run.", "code": "not_found"},
            status=status.HTTP_404_NOT_FOUND,
        )
    return drf_exception_handler(exc, context)
