"""DRF's error shapes, extended with the console's own: 409 for a run-state conflict and 503
with `code: temporal_unavailable` when Temporal can't be reached."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from orchestration.exceptions import RunStateConflict, TemporalUnavailable
from orchestration.temporal.bridge import WorkflowNotFound


def exception_handler(exc, context):
    if isinstance(exc, TemporalUnavailable):
        return Response(
            {"detail": f"Temporal is unavailable: {exc}", "code": "temporal_unavailable"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(exc, RunStateConflict):
        return Response({"detail": str(exc), "code": "conflict"}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, WorkflowNotFound):
        return Response(
            {"detail": "Temporal has no execution for this run.", "code": "not_found"},
            status=status.HTTP_404_NOT_FOUND,
        )
    return drf_exception_handler(exc, context)
